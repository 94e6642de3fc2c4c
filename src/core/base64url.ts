// base64url (RFC 4648 §5, no padding) of UTF-8 text: watch ids carry their asset id this way and
// list cursors their position. Decoding refuses anything that is not exactly what encoding makes.

export function toBase64Url(text: string): string {
	const bytes = new TextEncoder().encode(text);
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The text `encoded` stands for, or null when it is not base64url of valid UTF-8. */
export function fromBase64Url(encoded: string): string | null {
	if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
	try {
		const bin = atob(encoded.replace(/-/g, "+").replace(/_/g, "/"));
		const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
		return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
	} catch {
		return null;
	}
}
