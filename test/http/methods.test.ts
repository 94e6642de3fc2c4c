// A known path asked with a method it does not serve answers 405 with `Allow` (and the methods in
// the envelope's details), after auth and before any body check, and changes nothing; a path no
// route has stays 404. The table is checked against every route the app serves.
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { allowedMethods, methodTable } from "../../src/http/allowed-methods";
import { call, json, unique, useFakeWorld } from "../support/fakes";

useFakeWorld();

type ErrorBody = { error: { code: string; message: string; details?: { allowed?: string[] } } };

async function expect405(res: Response, allow: string): Promise<ErrorBody> {
	expect(res.status).toBe(405);
	expect(res.headers.get("allow")).toBe(allow);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	expect(res.headers.get("content-type")).toMatch(/^application\/json/);
	const body = await json<ErrorBody>(res);
	expect(body.error.code).toBe("method_not_allowed");
	expect(body.error.details?.allowed).toEqual(allow.split(", "));
	return body;
}

describe("405 on a known path", () => {
	it("PUT /v1/watches: 405 with Allow, names the method and what to use, registers nothing", async () => {
		const asset = unique("put");
		const res = await call("PUT", "/v1/watches", {
			body: { asset_id: asset, callback_url: "https://receiver.example/put" },
		});
		const body = await expect405(res, "GET, HEAD, POST");
		expect(body.error.message).toBe("PUT is not allowed on /v1/watches; use GET, HEAD, POST");
		const list = await json<{ watches: unknown[] }>(await call("GET", `/v1/watches?asset_id=${asset}`));
		expect(list.watches).toEqual([]);
	});

	it.each([
		["PATCH", "/v1/watches/w_abc", "DELETE, GET, HEAD"],
		["PUT", "/v1/watches/w_abc", "DELETE, GET, HEAD"],
		["GET", "/v1/watches/w_abc/redeliver", "POST"],
		["DELETE", "/v1/assets/asset-1", "GET, HEAD"],
		["POST", "/v1/stats", "GET, HEAD"],
		["OPTIONS", "/v1/watches", "GET, HEAD, POST"],
	])("%s %s → 405, Allow: %s", async (method, path, allow) => {
		await expect405(await call(method, path), allow);
	});

	it.each([
		["POST", "/healthz", "GET, HEAD"],
		["DELETE", "/openapi.json", "GET, HEAD"],
		["PUT", "/docs", "GET, HEAD"],
	])("%s %s (no token needed) → 405, Allow: %s", async (method, path, allow) => {
		await expect405(await call(method, path, { token: null }), allow);
	});

	it("comes before the body checks: a PUT with a text body is 405, not 415", async () => {
		const res = await call("PUT", "/v1/watches", {
			body: "hello",
			headers: { "content-type": "text/plain" },
		});
		await expect405(res, "GET, HEAD, POST");
	});

	it("comes after auth: without a token it is 401", async () => {
		const res = await call("PUT", "/v1/watches", { token: null });
		expect(res.status).toBe(401);
	});

	it("a path no route has is still 404, and HEAD on a GET route is answered", async () => {
		const nope = await call("PUT", "/v1/nothing-here");
		expect(nope.status).toBe(404);
		expect(nope.headers.get("allow")).toBeNull();
		expect((await call("HEAD", "/healthz", { token: null })).status).toBe(200);
	});
});

describe("the method table", () => {
	it("allows every method of every route the app serves, on that route's own path", () => {
		const table = methodTable(app.routes);
		const served = app.routes.filter((r) => r.method !== "ALL");
		expect(served.length).toBeGreaterThanOrEqual(10);
		for (const r of served) {
			const concrete = r.path.replace(/:[A-Za-z0-9_]+/g, "x-1");
			expect(allowedMethods(table, concrete), `${r.method} ${r.path}`).toContain(r.method);
		}
		expect(allowedMethods(table, "/v1/watches/x/redeliver/more")).toEqual([]);
		expect(allowedMethods(table, "/v1/watches/")).toEqual([]);
	});
});
