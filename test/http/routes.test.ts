// Every route through the worker's fetch handler, as a client sees it: status codes, the
// error envelope, x-request-id, idempotent registration, ownership, and each class of bad
// input answered with a 4xx that changes nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { call, json, TOKEN_B, unique, useFakeWorld } from "../support/fakes";
import { step } from "../support/steps";

const world = useFakeWorld();

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Watch = {
	id: string;
	state: string;
	asset_id: string;
	callback_url: string;
	metadata: unknown;
	callback_header_names: string[];
};

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
	expect(res.status).toBe(status);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	expect(res.headers.get("content-type")).toMatch(/^application\/json/);
	const body = await json<ErrorBody>(res);
	expect(body.error.code).toBe(code);
	expect(typeof body.error.message).toBe("string");
	return body;
}

const body = (assetId: string, extra: Record<string, unknown> = {}) => ({
	asset_id: assetId,
	callback_url: `https://receiver.example/${assetId}`,
	...extra,
});

describe("open routes", () => {
	it("GET /healthz reports nothing missing", async () => {
		const res = await call("GET", "/healthz", { token: null });
		expect(res.status).toBe(200);
		expect(res.headers.get("x-request-id")).toBeTruthy();
		expect(await json(res)).toMatchObject({ ok: true, missing_config: [], invalid_config: [] });
	});

	it("GET /healthz names a missing secret, never a value, and /v1 answers 503 not_configured", async () => {
		const partial = { ...env, WEBHOOK_SECRET: "", CRUN_API_KEY: undefined };
		const health = await app.request("/healthz", {}, partial);
		expect(health.status).toBe(503);
		const h = await json<{ missing_config: string[] }>(health);
		expect(h.missing_config.sort()).toEqual(["CRUN_API_KEY", "WEBHOOK_SECRET"]);
		const res = await app.request(
			"/v1/watches",
			{
				method: "POST",
				headers: { authorization: "Bearer tok_alpha_5b1c", "content-type": "application/json" },
				body: JSON.stringify(body("nc-1")),
			},
			partial,
		);
		const err = await expectError(res, 503, "not_configured");
		expect(err.error.message).toContain("CRUN_API_KEY");
		const noTokens = await app.request(
			"/v1/assets/x",
			{ headers: { authorization: "Bearer tok_alpha_5b1c" } },
			{ ...env, API_TOKENS: "" },
		);
		expect((await expectError(noTokens, 503, "not_configured")).error.message).toContain("API_TOKENS");
	});

	it("GET /openapi.json describes the routes", async () => {
		const res = await call("GET", "/openapi.json", { token: null });
		expect(res.status).toBe(200);
		const doc = await json<{ openapi: string; paths: Record<string, unknown> }>(res);
		expect(doc.openapi).toBe("3.1.0");
		for (const p of [
			"/v1/watches",
			"/v1/watches/{id}",
			"/v1/watches/{id}/redeliver",
			"/v1/watches/batch",
			"/v1/assets/{asset_id}",
			"/healthz",
		])
			expect(Object.keys(doc.paths)).toContain(p);
	});

	it("an unknown route is a 404 in the envelope", async () => {
		await expectError(await call("GET", "/nope", { token: null }), 404, "not_found");
	});
});

describe("auth", () => {
	it("needs a configured bearer token on /v1/*", async () => {
		await expectError(await call("GET", "/v1/assets/a", { token: null }), 401, "unauthorized");
		await expectError(await call("GET", "/v1/assets/a", { token: "tok_alpha_5b1" }), 401, "unauthorized");
		await expectError(
			await call("GET", "/v1/assets/a", { token: null, headers: { authorization: "Basic eDp5" } }),
			401,
			"unauthorized",
		);
	});
});

describe("POST /v1/watches", () => {
	it("201 for a new watch, 200 and the same watch, unchanged, for the same asset + URL + token", async () => {
		const a = unique("reg");
		const first = await call("POST", "/v1/watches", { body: body(a, { metadata: { v: 1 } }) });
		expect(first.status).toBe(201);
		const w1 = await json<Watch>(first);
		expect(w1).toMatchObject({ asset_id: a, state: "watching", metadata: { v: 1 } });
		const again = await call("POST", "/v1/watches", { body: body(a, { metadata: { v: 2 } }) });
		expect(again.status).toBe(200);
		expect(await json<Watch>(again)).toMatchObject({ id: w1.id, metadata: { v: 1 } });
		// Another token gets a watch of its own.
		const other = await call("POST", "/v1/watches", { token: TOKEN_B, body: body(a) });
		expect(other.status).toBe(201);
		expect((await json<Watch>(other)).id).not.toBe(w1.id);
	});

	it("never returns callback header values", async () => {
		const a = unique("hdr");
		const res = await call("POST", "/v1/watches", {
			body: body(a, { callback_headers: { Authorization: "Bearer receiver-secret-77" } }),
		});
		const text = await res.text();
		expect(res.status).toBe(201);
		expect(text).not.toContain("receiver-secret-77");
		expect(JSON.parse(text).callback_header_names).toEqual(["authorization"]);
	});

	it.each([
		["not JSON", "{nope", 400, "invalid_request"],
		["an array", [], 400, "invalid_request"],
		["a missing asset_id", { callback_url: "https://r.example/x" }, 400, "invalid_request"],
		[
			"a bad asset_id",
			{ asset_id: "has space", callback_url: "https://r.example/x" },
			400,
			"invalid_request",
		],
		[
			"a 129-char asset_id",
			{ asset_id: "a".repeat(129), callback_url: "https://r.example/x" },
			400,
			"invalid_request",
		],
		["an http callback", { asset_id: "x", callback_url: "http://r.example/x" }, 400, "invalid_request"],
		["a private callback", { asset_id: "x", callback_url: "https://10.0.0.1/x" }, 400, "invalid_request"],
		[
			"an unknown event",
			{ asset_id: "x", callback_url: "https://r.example/x", events: ["asset.deleted"] },
			400,
			"invalid_request",
		],
		[
			"metadata over 4 KiB",
			{ asset_id: "x", callback_url: "https://r.example/x", metadata: { s: "x".repeat(4100) } },
			400,
			"invalid_request",
		],
		[
			"metadata not an object",
			{ asset_id: "x", callback_url: "https://r.example/x", metadata: [1] },
			400,
			"invalid_request",
		],
		[
			"a reserved callback header",
			{ asset_id: "x", callback_url: "https://r.example/x", callback_headers: { "Webhook-Id": "x" } },
			400,
			"invalid_request",
		],
		[
			"11 callback headers",
			{
				asset_id: "x",
				callback_url: "https://r.example/x",
				callback_headers: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`x-h${i}`, "v"])),
			},
			400,
			"invalid_request",
		],
	])("refuses %s with a 4xx and registers nothing", async (_what, payload, status, code) => {
		const res = await call("POST", "/v1/watches", { body: payload });
		await expectError(res, status, code);
		expect(world.fakes.upstreamCalls).toHaveLength(0);
	});

	it("names unknown fields", async () => {
		const res = await call("POST", "/v1/watches", { body: { ...body("x"), colour: "red", extra: 1 } });
		const err = await expectError(res, 400, "invalid_request");
		expect(err.error.message).toContain("colour");
		expect(err.error.message).toContain("extra");
	});

	it("415 for a body that is not JSON, 413 over 64 KiB", async () => {
		await expectError(
			await call("POST", "/v1/watches", {
				body: "asset_id=x",
				headers: { "content-type": "application/x-www-form-urlencoded" },
			}),
			415,
			"unsupported_media_type",
		);
		await expectError(
			await call("POST", "/v1/watches", { body: { ...body("x"), metadata: { s: "x".repeat(70_000) } } }),
			413,
			"payload_too_large",
		);
	});

	it("a refused registration leaves no watch behind", async () => {
		const a = unique("none");
		await call("POST", "/v1/watches", { body: { asset_id: a, callback_url: "http://localhost/x" } });
		const lookup = await call("GET", `/v1/assets/${a}`);
		// Unwatched: the lookup went upstream (the fake knows nothing) rather than to stored state.
		await expectError(lookup, 404, "asset_not_found");
	});
});

describe("POST /v1/watches/batch", () => {
	it("answers a result per item, valid and invalid mixed", async () => {
		const a = unique("batch");
		const items = [
			body(`${a}-1`),
			{ asset_id: "bad id", callback_url: "https://r.example/" },
			body(`${a}-1`),
			{ nope: true },
			body(`${a}-2`),
		];
		const res = await call("POST", "/v1/watches/batch", { body: { watches: items } });
		expect(res.status).toBe(200);
		const { results } = await json<{
			results: { index: number; status: number; watch?: Watch; error?: { code: string; message: string } }[];
		}>(res);
		expect(results.map((r) => r.status)).toEqual([201, 400, 200, 400, 201]);
		expect(results[2]?.watch?.id).toBe(results[0]?.watch?.id);
		expect(results[3]?.error?.message).toContain("nope");
	});

	it("refuses more than 100 items", async () => {
		const items = Array.from({ length: 101 }, (_, i) => body(`too-many-${i}`));
		await expectError(
			await call("POST", "/v1/watches/batch", { body: { watches: items } }),
			400,
			"invalid_request",
		);
	});
});

describe("a watch by id", () => {
	it("GET shows it to its owner only; other tokens and made-up ids get 404", async () => {
		const a = unique("own");
		const w = await json<Watch>(await call("POST", "/v1/watches", { body: body(a) }));
		expect((await call("GET", `/v1/watches/${w.id}`)).status).toBe(200);
		await expectError(await call("GET", `/v1/watches/${w.id}`, { token: TOKEN_B }), 404, "watch_not_found");
		await expectError(
			await call("DELETE", `/v1/watches/${w.id}`, { token: TOKEN_B }),
			404,
			"watch_not_found",
		);
		await expectError(
			await call("POST", `/v1/watches/${w.id}/redeliver`, { token: TOKEN_B }),
			404,
			"watch_not_found",
		);
		await expectError(await call("GET", "/v1/watches/w_nope"), 404, "watch_not_found");
		await expectError(await call("GET", `/v1/watches/${w.id.slice(0, -2)}zz`), 404, "watch_not_found");
	});

	it("DELETE cancels (and again is harmless); registering again afterwards makes a new watch", async () => {
		const a = unique("del");
		const w = await json<Watch>(await call("POST", "/v1/watches", { body: body(a) }));
		const del = await call("DELETE", `/v1/watches/${w.id}`);
		expect(del.status).toBe(200);
		expect((await json<Watch>(del)).state).toBe("cancelled");
		expect((await json<Watch>(await call("DELETE", `/v1/watches/${w.id}`))).state).toBe("cancelled");
		const again = await call("POST", "/v1/watches", { body: body(a) });
		expect(again.status).toBe(201);
		expect((await json<Watch>(again)).id).not.toBe(w.id);
	});

	it("redeliver before the watch has an event is 409", async () => {
		const a = unique("early");
		const w = await json<Watch>(await call("POST", "/v1/watches", { body: body(a) }));
		await expectError(await call("POST", `/v1/watches/${w.id}/redeliver`), 409, "no_event_yet");
	});
});

describe("GET /v1/assets/:asset_id", () => {
	it("answers a watched asset from stored state, with no upstream call", async () => {
		const a = unique("look");
		world.fakes.script(a, { status: "Processing" });
		await call("POST", "/v1/watches", { body: body(a) });
		await step(world.vclock, a);
		const calls = world.fakes.callsFor(a);
		const res = await call("GET", `/v1/assets/${a}`);
		expect(res.status).toBe(200);
		// Nothing can change it before the next check, POLL_INITIAL_MS (2 s) after the first.
		expect(res.headers.get("cache-control")).toBe("private, max-age=2");
		expect(await json(res)).toMatchObject({
			asset_id: a,
			status: "Processing",
			watched: true,
			checks: 1,
			name: `name-of-${a}`,
		});
		expect(world.fakes.callsFor(a)).toBe(calls);
	});

	it("answers an unwatched asset from the upstream, and 404 asset_not_found when unknown", async () => {
		const a = unique("free");
		world.fakes.script(a, { status: "Processing" });
		const res = await call("GET", `/v1/assets/${a}`);
		expect(await json(res)).toMatchObject({ asset_id: a, status: "Processing", watched: false });
		expect(world.fakes.callsFor(a)).toBe(1);
		await expectError(await call("GET", `/v1/assets/${unique("ghost")}`), 404, "asset_not_found");
		await expectError(await call("GET", "/v1/assets/bad%20id"), 400, "invalid_request");
		await expectError(await call("GET", `/v1/assets/${a}?colour=red`), 400, "invalid_request");
	});

	it("a terminal answer carries Cache-Control and an ETag, and If-None-Match gets 304", async () => {
		const a = unique("etag");
		world.fakes.script(a, { status: "Active" });
		const res = await call("GET", `/v1/assets/${a}`);
		expect(res.status).toBe(200);
		const etag = res.headers.get("etag");
		expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
		expect(res.headers.get("cache-control")).toMatch(/max-age=\d+/);
		const again = await call("GET", `/v1/assets/${a}`, { headers: { "if-none-match": etag as string } });
		expect(again.status).toBe(304);
	});

	it("an upstream that cannot be read is a 502, not a crash", async () => {
		const a = unique("garbled");
		world.fakes.script(a, { http: 200, body: "<html>oops</html>" });
		await expectError(await call("GET", `/v1/assets/${a}`), 502, "upstream_error");
	});
});

describe("a batch item that fails for a reason of the runtime's", () => {
	it("is reported as 503 for that item; the rest are registered", async () => {
		const a = unique("flaky");
		const real = env.ASSET_WATCHER.getByName.bind(env.ASSET_WATCHER);
		const spy = vi.spyOn(env.ASSET_WATCHER, "getByName").mockImplementation((name: string) => {
			if (name === `${a}-bad`) throw new Error("Durable Object reset because its code was updated.");
			return real(name);
		});
		try {
			const res = await call("POST", "/v1/watches/batch", {
				body: { watches: [body(`${a}-1`), body(`${a}-bad`), body(`${a}-2`)] },
			});
			expect(res.status).toBe(200);
			const { results } = await json<{ results: { status: number; error?: { code: string } }[] }>(res);
			expect(results.map((r) => r.status)).toEqual([201, 503, 201]);
			expect(results[1]?.error?.code).toBe("unavailable");
		} finally {
			spy.mockRestore();
		}
	});
});

describe("the edge-cached answer of a finished asset", () => {
	it("shows a new watch, and its cancel, at once", async () => {
		const a = unique("cached");
		world.fakes.script(a, { status: "Active" });
		const before = await json<{ watched: boolean }>(await call("GET", `/v1/assets/${a}`));
		expect(before.watched).toBe(false);
		const w = await json<Watch>(await call("POST", "/v1/watches", { body: body(a) }));
		expect((await json<{ watched: boolean }>(await call("GET", `/v1/assets/${a}`))).watched).toBe(true);
		await call("DELETE", `/v1/watches/${w.id}`);
		expect((await json<{ watched: boolean }>(await call("GET", `/v1/assets/${a}`))).watched).toBe(false);
	});
});
