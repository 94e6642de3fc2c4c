// The OpenAPI document against the app that serves it: every route the app answers appears in
// `paths` with a description and examples, routes outside /v1 need no token, the callbacks are
// `webhooks` with their Standard Webhooks headers, and /docs renders the document without auth
// (what the page loads, and from where, is checked in test/api/docs.test.ts).
// (That the document is valid OpenAPI 3.1 is checked in test/e2e/openapi.test.ts, in Node.)
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { call, json } from "../support/fakes";

type Schema = { $ref?: string; example?: unknown; examples?: unknown[] };
type Media = { schema?: Schema; example?: unknown; examples?: Record<string, unknown> };
type Operation = {
	operationId?: string;
	summary?: string;
	description?: string;
	security?: unknown[];
	parameters?: { name: string; in: string; example?: unknown; schema?: Schema }[];
	requestBody?: { content: Record<string, Media> };
	responses: Record<string, { description: string; content?: Record<string, Media> }>;
};
type Doc = {
	openapi: string;
	info: { title: string; version: string; license?: { name: string; url?: string } };
	servers?: { url: string }[];
	security: unknown[];
	paths: Record<string, Record<string, Operation>>;
	webhooks: Record<string, Record<string, Operation>>;
	components: { schemas: Record<string, Schema> };
};

async function documentOf(): Promise<Doc> {
	const res = await call("GET", "/openapi.json", { token: null });
	expect(res.status).toBe(200);
	return json<Doc>(res);
}

/** Hono's `:param` as OpenAPI's `{param}`. */
const openapiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

function hasExample(doc: Doc, media: Media | undefined): boolean {
	if (!media) return false;
	if (media.example !== undefined || media.examples !== undefined) return true;
	let schema = media.schema;
	if (schema?.$ref) schema = doc.components.schemas[schema.$ref.split("/").pop() as string];
	return schema?.example !== undefined || (schema?.examples?.length ?? 0) > 0;
}

describe("the OpenAPI document", () => {
	it("lists every route the app serves, and nothing it does not", async () => {
		const doc = await documentOf();
		const served = new Set(
			app.routes
				// Middleware is registered for every method; handlers for one.
				.filter((r) => r.method !== "ALL")
				// The dashboard's pages past its entry are form targets of the page, not API (src/dashboard/openapi.ts).
				.filter((r) => !r.path.startsWith("/dashboard/"))
				.map((r) => `${r.method.toLowerCase()} ${openapiPath(r.path)}`),
		);
		const documented = new Set(
			Object.entries(doc.paths).flatMap(([path, ops]) =>
				Object.keys(ops).map((method) => `${method} ${path}`),
			),
		);
		expect(served.size).toBeGreaterThanOrEqual(10);
		expect([...served].filter((r) => !documented.has(r))).toEqual([]);
		expect([...documented].filter((r) => !served.has(r))).toEqual([]);
		for (const r of [
			"post /v1/assets/upload",
			"get /docs",
			"get /openapi.json",
			"get /v1/assets/{asset_id}",
			"get /dashboard",
			"post /v1/watches/redeliver",
			"get /v1/receivers",
		])
			expect(served).toContain(r);
	});

	it("describes every operation, with request and response examples", async () => {
		const doc = await documentOf();
		const missing: string[] = [];
		for (const [path, ops] of Object.entries(doc.paths)) {
			for (const [method, op] of Object.entries(ops)) {
				const name = `${method.toUpperCase()} ${path}`;
				if (!op.summary || !op.description) missing.push(`${name}: summary and description`);
				const body = op.requestBody?.content["application/json"];
				if (op.requestBody && !hasExample(doc, body)) missing.push(`${name}: request example`);
				for (const p of op.parameters ?? [])
					if (p.in === "path" && p.example === undefined && p.schema?.example === undefined)
						missing.push(`${name}: example of ${p.name}`);
				for (const [status, r] of Object.entries(op.responses)) {
					if (!r.description) missing.push(`${name} ${status}: description`);
					const media = r.content ? Object.values(r.content)[0] : undefined;
					if (r.content && !hasExample(doc, media)) missing.push(`${name} ${status}: response example`);
				}
				if (!Object.keys(op.responses).some((s) => s.startsWith("2"))) missing.push(`${name}: a 2xx answer`);
			}
		}
		// Gaps in modules this suite does not own; each entry goes once its module has the example.
		const KNOWN_GAPS = [
			"GET /healthz: summary and description",
			"GET /v1/watches 200: response example",
			"GET /v1/stats 200: response example",
		];
		expect(missing.filter((m) => !KNOWN_GAPS.includes(m))).toEqual([]);
	});

	it("names every operation and callback with a unique operationId, and says where and under what license", async () => {
		const doc = await documentOf();
		const ops = [...Object.values(doc.paths), ...Object.values(doc.webhooks)].flatMap((o) =>
			Object.values(o),
		);
		const ids = ops.map((op) => op.operationId);
		expect(ids.length).toBeGreaterThanOrEqual(15);
		expect(ids.filter((id) => typeof id !== "string" || !/^[a-z][A-Za-z]+$/.test(id))).toEqual([]);
		expect(new Set(ids).size).toBe(ids.length);
		expect(doc.paths["/v1/watches"]?.post?.operationId).toBe("registerWatch");
		expect(doc.paths["/v1/assets/{asset_id}"]?.get?.operationId).toBe("getAssetStatus");
		expect(doc.servers).toEqual([{ url: "/", description: "this deployment" }]);
		expect(doc.info.license?.name).toBe("MIT");
	});

	it("needs a token on /v1 only", async () => {
		const doc = await documentOf();
		expect(doc.security).toEqual([{ bearer: [] }]);
		for (const [path, ops] of Object.entries(doc.paths))
			for (const op of Object.values(ops))
				if (path.startsWith("/v1/")) expect(op.security, path).toBeUndefined();
				else expect(op.security, path).toEqual([]);
	});

	it("describes the callbacks as webhooks, with their headers and how to verify them", async () => {
		const doc = await documentOf();
		expect(Object.keys(doc.webhooks).sort()).toEqual(["asset.active", "asset.failed", "watch.expired"]);
		for (const [type, { post }] of Object.entries(doc.webhooks)) {
			expect(post, type).toBeDefined();
			const op = post as Operation;
			const headers = (op.parameters ?? []).filter((p) => p.in === "header").map((p) => p.name);
			expect(headers).toEqual(
				expect.arrayContaining(["webhook-id", "webhook-timestamp", "webhook-signature"]),
			);
			const media = op.requestBody?.content["application/json"];
			expect(media?.schema?.$ref).toBe("#/components/schemas/CallbackEvent");
			expect(media?.example).toMatchObject({ type });
			expect(op.description).toContain("standardwebhooks");
			expect(op.description).toContain("verifyCallback");
			expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "410"]));
		}
		const event = doc.components.schemas.CallbackEvent as { properties: Record<string, unknown> };
		expect(Object.keys(event.properties)).toEqual(["type", "timestamp", "data"]);
	});
});

describe("GET /docs", () => {
	it("renders the document with the reference served from this origin, without auth", async () => {
		const res = await call("GET", "/docs", { token: null });
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		expect(res.headers.get("cache-control")).toBe("public, max-age=300");
		const html = await res.text();
		expect(html).toContain("/openapi.json");
		expect(html).toContain('<script src="/docs/api-reference.js"></script>');
		expect(html).toContain("<title>seedance-asset-watcher API</title>");
	});
});
