// The OpenAPI document as the running service serves it is valid OpenAPI 3.1 (checked with
// @seriousme/openapi-schema-validator, which needs Node), and /docs serves the reference page
// that loads it. Route coverage and examples are checked in test/api/openapi.test.ts.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, expect, it } from "vitest";
import { localSecrets, type Runtime, startRuntime } from "./harness.mjs";

let rt: Runtime;

beforeAll(async () => {
	rt = await startRuntime({ secrets: { ...localSecrets() } });
});
afterAll(async () => {
	await rt?.dispose();
});

it("serves a valid OpenAPI 3.1 document, with webhooks, without auth", async () => {
	const res = await rt.fetch("/openapi.json", { token: null });
	expect(res.status).toBe(200);
	const doc = (await res.json()) as Record<string, unknown>;
	const validator = new Validator();
	const result = await validator.validate(doc);
	expect(result.errors ?? []).toEqual([]);
	expect(result.valid).toBe(true);
	expect(validator.version).toBe("3.1");
	expect(Object.keys(doc.webhooks as object).sort()).toEqual([
		"asset.active",
		"asset.failed",
		"watch.expired",
	]);
	// Every $ref resolves.
	expect(() => validator.resolveRefs()).not.toThrow();
});

it("serves the reference page at /docs, pointing at the document", async () => {
	const res = await rt.fetch("/docs", { token: null });
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toMatch(/^text\/html/);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	const html = await res.text();
	expect(html).toContain("/openapi.json");
	expect(html).toMatch(/@scalar\/api-reference/);
});
