// GET /docs is self-contained: the page references nothing on another origin, allows no inline
// script (Content-Security-Policy), links the OpenAPI document plainly, and every script it
// references is served by this deployment (Workers static assets) as JavaScript.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DOCS_SCRIPTS } from "../../src/routes/docs-page";

const ORIGIN = "https://watcher.test";
const get = (path: string) => exports.default.fetch(new Request(`${ORIGIN}${path}`));
// What the platform answers from the assets directory, before the worker would run.
const asset = (path: string) => env.ASSETS.fetch(`${ORIGIN}${path}`);

/** Every URL the page's markup points at: src, href, action, srcset, data-url, and url(...) in styles. */
function urlsIn(html: string): string[] {
	const attrs = [
		...html.matchAll(/\s(?:src|href|action|data-url|poster|srcset)\s*=\s*["']([^"']*)["']/gi),
	].map((m) => m[1] as string);
	const css = [...html.matchAll(/url\(\s*["']?([^"')]+)/gi)].map((m) => m[1] as string);
	return [...attrs, ...css];
}

async function page(): Promise<{ res: Response; html: string }> {
	const res = await get("/docs");
	return { res, html: await res.text() };
}

describe("GET /docs", () => {
	it("is an HTML page with a strict Content-Security-Policy", async () => {
		const { res } = await page();
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("cache-control")).toBe("public, max-age=300");
		const csp = res.headers.get("content-security-policy") ?? "";
		const directives = Object.fromEntries(
			csp.split(";").map((d) => {
				const [name, ...values] = d.trim().split(/\s+/);
				return [name, values];
			}),
		);
		expect(directives["default-src"]).toEqual(["'self'"]);
		expect(directives["script-src"]).toEqual(["'self'"]);
		expect(directives["connect-src"]).toEqual(["'self'"]);
		expect(directives["object-src"]).toEqual(["'none'"]);
		expect(directives["frame-ancestors"]).toEqual(["'none'"]);
		// Nothing in any directive names another origin or loosens scripts.
		expect(csp).not.toMatch(/https?:|\*|'unsafe-eval'|'strict-dynamic'/);
	});

	it("references only this origin, and has no inline script", async () => {
		const { html } = await page();
		const urls = urlsIn(html);
		expect(urls.length).toBeGreaterThanOrEqual(DOCS_SCRIPTS.length + 1);
		for (const u of urls) {
			expect(u, u).toMatch(/^\/(?!\/)/);
			expect(new URL(u, ORIGIN).origin).toBe(ORIGIN);
		}
		const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
		expect(scripts.map((m) => /\bsrc="([^"]+)"/.exec(m[1] as string)?.[1])).toEqual(DOCS_SCRIPTS);
		for (const m of scripts) expect((m[2] as string).trim(), "inline script").toBe("");
		expect(html).not.toMatch(/\son[a-z]+\s*=/i);
	});

	it("links the OpenAPI document plainly, and names it for the reference", async () => {
		const { html } = await page();
		expect(html).toMatch(/<a href="\/openapi\.json">[^<]+<\/a>/);
		expect(html).toContain('data-url="/openapi.json"');
		expect(html).toContain("<title>seedance-asset-watcher API</title>");
	});

	it.each(DOCS_SCRIPTS)("serves %s from this deployment as JavaScript", async (src) => {
		const res = await asset(src);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^(text|application)\/javascript\b/);
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
		const body = await res.text();
		expect(body.length).toBeGreaterThan(100);
	});

	it("the reference bundle is the real one, and the page's script mounts it on the document", async () => {
		const bundle = await (await asset("/docs/api-reference.js")).text();
		expect(bundle.length).toBeGreaterThan(1_000_000);
		expect(bundle).toContain("createApiReference");
		const start = await (await asset("/docs/reference-start.js")).text();
		expect(start).toContain("createApiReference");
		expect(start).toContain("mount.dataset.url");
		expect(start).toMatch(/withDefaultFonts: false/);
	});
});
