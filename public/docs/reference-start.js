// Mounts the API reference (Scalar's standalone bundle, loaded just before) on #api-reference,
// rendering the document its data-url names, without telemetry, its AI agent or web fonts. What
// the bundle would still fetch from elsewhere (its base styles name a hosted font) the page's
// Content-Security-Policy refuses; "Test request" calls go to this service itself.
const mount = document.getElementById("api-reference");
globalThis.Scalar.createApiReference(mount, {
	url: mount.dataset.url,
	withDefaultFonts: false,
	telemetry: false,
	agent: { disabled: true },
});
