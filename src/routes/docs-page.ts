// The /docs page: a small HTML document that loads the API reference from this origin only (the
// scripts under /docs/ are Workers static assets, see wrangler.toml [assets]) and renders
// /openapi.json, with a plain link to the document for readers without scripts. Its
// Content-Security-Policy allows no inline script and nothing from another origin.

/** The page's scripts, in order: a setting for the bundle, the bundle, and what mounts it. */
export const DOCS_SCRIPTS = [
	"/docs/reference-config.js",
	"/docs/api-reference.js",
	"/docs/reference-start.js",
];

/**
 * Scripts and connections to this origin only, no inline script, no plugins, no framing. Styles
 * may be inline: the reference injects its theme as <style> and sets style attributes.
 */
export const DOCS_CSP = [
	"default-src 'self'",
	"script-src 'self'",
	"style-src 'self' 'unsafe-inline'",
	"img-src 'self' data:",
	"font-src 'self' data:",
	"connect-src 'self'",
	"object-src 'none'",
	"base-uri 'none'",
	"form-action 'self'",
	"frame-ancestors 'none'",
].join("; ");

const escapeHtml = (s: string) =>
	s.replace(
		/[&<>"']/g,
		(ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
	);

export function docsPage(options: { title: string; openapiPath: string }): string {
	const title = escapeHtml(options.title);
	const doc = escapeHtml(options.openapiPath);
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body>
<p><a href="${doc}">The OpenAPI 3.1 document (${doc})</a></p>
<noscript><p>The interactive reference needs JavaScript; the document above has everything it shows.</p></noscript>
<div id="api-reference" data-url="${doc}"></div>
${DOCS_SCRIPTS.map((src) => `<script src="${src}"></script>`).join("\n")}
</body>
</html>
`;
}
