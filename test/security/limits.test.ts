// Every abuse limit, at its edge: body size (whatever Content-Length claims), metadata size,
// callback header count and size, live watches per asset and per token, and the per-token
// request rate (429 with Retry-After). Limits that live in a Durable Object's own settings are
// lowered on that object for the test; the rate limit reads the request's settings.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_CALLBACK_HEADERS, MAX_METADATA_BYTES } from "../../src/api/requests";
import { app } from "../../src/app";
import { hashToken } from "../../src/core/ids";
import { decideRate } from "../../src/limits/rate";
import { call, json, TOKEN_A, useFakeWorld } from "../support/fakes";
import { stepUntil } from "../support/steps";

const world = useFakeWorld();

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Watch = { id: string; state: string };

let n = 0;
const unique = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
const LIMIT = 64 * 1024;

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
	expect(res.status).toBe(status);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	const body = await json<ErrorBody>(res);
	expect(body.error.code).toBe(code);
	return body;
}

/** A registration body padded with spaces (insignificant JSON whitespace) to exactly `bytes`. */
function paddedBody(assetId: string, bytes: number): string {
	const core = JSON.stringify({ asset_id: assetId, callback_url: `https://receiver.example/${assetId}` });
	return core.slice(0, -1) + " ".repeat(bytes - core.length) + core.slice(-1);
}

function post(path: string, body: BodyInit, headers: Record<string, string> = {}): Promise<Response> {
	return call("POST", path, {
		body: body as string,
		headers: { "content-type": "application/json", ...headers },
	});
}

describe("body size", () => {
	it("exactly 64 KiB is read; one byte more is 413", async () => {
		const asset = unique("size");
		const ok = await post("/v1/watches", paddedBody(asset, LIMIT));
		expect(ok.status).toBe(201);
		const over = await post("/v1/watches", paddedBody(unique("size"), LIMIT + 1));
		const err = await expectError(over, 413, "payload_too_large");
		expect(err.error.message).toContain(String(LIMIT));
	});

	it("a Content-Length that understates the body does not let it through", async () => {
		const res = await post("/v1/watches", paddedBody(unique("lie"), LIMIT * 4), { "content-length": "100" });
		await expectError(res, 413, "payload_too_large");
	});

	it("a Content-Length over the limit is refused before the body is read", async () => {
		const res = await post("/v1/watches", "{}", { "content-length": String(LIMIT + 1) });
		await expectError(res, 413, "payload_too_large");
	});

	it("a streamed body with no Content-Length is counted as it arrives", async () => {
		const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
		// The test writes the body itself, chunk by chunk: a write waits until the service reads it,
		// so the count of writes taken is how much it read. Writing it here, rather than handing the
		// runtime a stream to pump, also leaves no cut-off pump behind for the runtime to report.
		const { readable, writable } = new IdentityTransformStream();
		const writer = writable.getWriter();
		const { exports } = await import("cloudflare:workers");
		const answer = exports.default.fetch(
			new Request("https://watcher.test/v1/watches", {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN_A}`, "content-type": "application/json" },
				body: readable,
			}),
		);
		let sent = 0;
		while (sent < 10) {
			const taken = await Promise.race([writer.write(chunk).then(() => true), answer.then(() => false)]);
			if (!taken) break;
			sent++;
		}
		await writer.abort().catch(() => {});
		await expectError(await answer, 413, "payload_too_large");
		// Reading stopped at the limit rather than draining all 160 KiB.
		expect(sent).toBeLessThan(10);
	});

	it("a batch stays under the same limit", async () => {
		const watches = Array.from({ length: 100 }, (_, i) => ({
			asset_id: `batch-size-${i}`,
			callback_url: "https://receiver.example/b",
			metadata: { pad: "x".repeat(1000) },
		}));
		await expectError(await post("/v1/watches/batch", JSON.stringify({ watches })), 413, "payload_too_large");
	});
});

describe("registration fields", () => {
	const reg = (extra: Record<string, unknown>) => {
		const asset = unique("fields");
		return call("POST", "/v1/watches", {
			body: { asset_id: asset, callback_url: `https://receiver.example/${asset}`, ...extra },
		});
	};
	/** `{"k":"…"}` of exactly `bytes` bytes of JSON. */
	const metadataOf = (bytes: number, char = "x") => {
		const overhead = JSON.stringify({ k: "" }).length;
		const width = new TextEncoder().encode(char).byteLength;
		const count = Math.floor((bytes - overhead) / width);
		const rest = bytes - overhead - count * width;
		return { k: char.repeat(count) + "y".repeat(rest) };
	};

	it("metadata of exactly 4 KiB is kept; one byte more is 400 naming metadata", async () => {
		expect(MAX_METADATA_BYTES).toBe(4096);
		expect((await reg({ metadata: metadataOf(4096) })).status).toBe(201);
		const err = await expectError(await reg({ metadata: metadataOf(4097) }), 400, "invalid_request");
		expect(err.error.message).toContain("metadata");
	});

	it("metadata is measured in UTF-8 bytes, not characters", async () => {
		const err = await expectError(await reg({ metadata: metadataOf(4098, "é") }), 400, "invalid_request");
		expect(err.error.message).toContain("metadata");
		expect((await reg({ metadata: metadataOf(4096, "é") })).status).toBe(201);
	});

	it("deeply nested metadata is refused as a 400, not a crash", async () => {
		for (const depth of [100, 2000, 20_000]) {
			const nested = `${"[".repeat(depth)}${"]".repeat(depth)}`;
			const asset = unique("deep");
			const res = await call("POST", "/v1/watches", {
				body: `{"asset_id":"${asset}","callback_url":"https://receiver.example/x","metadata":{"a":${nested}}}`,
			});
			expect(res.status).toBeLessThan(500);
		}
	});

	it(`${MAX_CALLBACK_HEADERS} callback headers are accepted; one more is 400`, async () => {
		const headers = (count: number) =>
			Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h-${i}`, "v"]));
		expect((await reg({ callback_headers: headers(MAX_CALLBACK_HEADERS) })).status).toBe(201);
		const err = await expectError(
			await reg({ callback_headers: headers(MAX_CALLBACK_HEADERS + 1) }),
			400,
			"invalid_request",
		);
		expect(err.error.message).toContain("callback_headers");
	});

	it.each([
		["a value over 1024 characters", { "x-auth": "v".repeat(1025) }],
		["a CR LF in a value", { "x-auth": "a\r\nx-injected: 1" }],
		["a name that is not an HTTP token", { "x auth": "v" }],
		["a name over 64 characters", { ["x".repeat(65)]: "v" }],
		["the same name twice in different case", { "X-Auth": "a", "x-auth": "b" }],
		...[
			"webhook-signature",
			"Host",
			"content-length",
			"Content-Type",
			"user-agent",
			"connection",
			"proxy-authorization",
			"te",
			"transfer-encoding",
			"upgrade",
			"trailer",
			"keep-alive",
		].map((name): [string, Record<string, string>] => [`the reserved name ${name}`, { [name]: "v" }]),
	])("callback_headers with %s → 400", async (_label, headers) => {
		await expectError(await reg({ callback_headers: headers }), 400, "invalid_request");
	});
});

/** Lowers a limit in one asset object's own settings, for this test only. */
async function lowerAssetLimits(assetId: string, vars: Record<string, string>): Promise<void> {
	await runInDurableObject(env.ASSET_WATCHER.getByName(assetId), (instance) => {
		const o = instance as unknown as { env: Env };
		o.env = { ...o.env, ...vars } as Env;
	});
}

/** A fresh client identity for tests that count per token: its own owner, its own quota object. */
async function client(name: string) {
	const token = `tok_${name}_${Math.random().toString(36).slice(2, 10)}`;
	const settings = { ...env, API_TOKENS: `${name}:${token}` } as Env;
	const owner = await hashToken(`client:${name}`);
	const request = (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
		app.request(
			path,
			{
				method,
				headers: {
					authorization: `Bearer ${token}`,
					...(body === undefined ? {} : { "content-type": "application/json" }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
			},
			{ ...settings, ...extra } as Env,
		);
	const live = () => env.TOKEN_QUOTA.getByName(owner).liveCount();
	return { token, owner, request, live };
}

describe("live watches per asset and per token", () => {
	it("MAX_WATCHES_PER_ASSET: the next live watch is 409 until one finishes", async () => {
		const asset = unique("per-asset");
		await lowerAssetLimits(asset, { MAX_WATCHES_PER_ASSET: "2" });
		const url = (i: number) => `https://receiver.example/${asset}/${i}`;
		const first = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url(0) } }),
		);
		expect(
			(await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url(1) } })).status,
		).toBe(201);
		const err = await expectError(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url(2) } }),
			409,
			"too_many_watches",
		);
		expect(err.error.message).toMatch(/asset/);
		// The same registration again is not a new watch: still 200 at the limit.
		expect(
			(await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url(1) } })).status,
		).toBe(200);
		expect((await call("DELETE", `/v1/watches/${first.id}`)).status).toBe(200);
		expect(
			(await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url(2) } })).status,
		).toBe(201);
	});

	it("MAX_WATCHES_PER_TOKEN counts across assets; a finished watch frees its slot", async () => {
		const c = await client("pertoken");
		const assets = [unique("pt"), unique("pt"), unique("pt")];
		for (const a of assets) await lowerAssetLimits(a, { MAX_WATCHES_PER_TOKEN: "2" });
		const reg = (a: string) =>
			c.request("POST", "/v1/watches", { asset_id: a, callback_url: `https://receiver.example/${a}` });
		const w0 = await json<Watch>(await reg(assets[0] as string));
		expect((await reg(assets[1] as string)).status).toBe(201);
		expect(await c.live()).toBe(2);
		const err = await expectError(await reg(assets[2] as string), 409, "too_many_watches");
		expect(err.error.message).toMatch(/token/);
		// A refused registration leaves nothing behind.
		expect(await c.live()).toBe(2);
		const lookup = await c.request("GET", `/v1/assets/${assets[2]}`);
		expect(lookup.status).toBe(404);

		// Re-registering an existing watch at the limit is not refused.
		expect((await reg(assets[1] as string)).status).toBe(200);
		expect((await c.request("DELETE", `/v1/watches/${w0.id}`)).status).toBe(200);
		expect(await c.live()).toBe(1);
		expect((await reg(assets[2] as string)).status).toBe(201);
		expect(await c.live()).toBe(2);
	});

	it("the quota follows each watch: live while watching or notifying, freed when delivered, taken again on redeliver", async () => {
		const c = await client("lifecycle");
		const asset = unique("life");
		world.fakes.script(asset, { status: "Processing" }, { status: "Active" });
		const w = await json<Watch>(
			await c.request("POST", "/v1/watches", {
				asset_id: asset,
				callback_url: `https://receiver.example/${asset}`,
			}),
		);
		expect(await c.live()).toBe(1);
		const state = async () => (await json<Watch>(await c.request("GET", `/v1/watches/${w.id}`))).state;
		await stepUntil(world.vclock, asset, async () => (await state()) === "delivered");
		expect(await c.live()).toBe(0);
		expect((await c.request("POST", `/v1/watches/${w.id}/redeliver`)).status).toBe(202);
		expect(await c.live()).toBe(1);
		await stepUntil(world.vclock, asset, async () => (await state()) === "delivered");
		expect(await c.live()).toBe(0);
	});

	it("a watch skipped at once (an event it did not ask for) never holds a slot", async () => {
		const c = await client("skipped");
		const asset = unique("skip");
		world.fakes.script(asset, { status: "Active" });
		const first = await json<Watch>(
			await c.request("POST", "/v1/watches", {
				asset_id: asset,
				callback_url: "https://receiver.example/s1",
			}),
		);
		const state = async () => (await json<Watch>(await c.request("GET", `/v1/watches/${first.id}`))).state;
		await stepUntil(world.vclock, asset, async () => (await state()) === "delivered");
		const res = await c.request("POST", "/v1/watches", {
			asset_id: asset,
			callback_url: "https://receiver.example/s2",
			events: ["asset.failed"],
		});
		expect((await json<Watch>(res)).state).toBe("skipped");
		expect(await c.live()).toBe(0);
	});

	it("reports are idempotent, and an audit frees slots whose watch never came to be", async () => {
		const quota = env.TOKEN_QUOTA.getByName(unique("quota-owner"));
		const phantom = "w_abcdefghijklmnopqrst_bmV2ZXItd3JpdHRlbg"; // asset "never-written"
		expect(await quota.reserve(phantom, 2)).toEqual({ ok: true });
		expect(await quota.reserve(phantom, 2)).toEqual({ ok: true });
		expect(await quota.liveCount()).toBe(1);
		expect(await quota.reserve("w_bbbbbbbbbbbbbbbbbbbb_bmV2ZXItd3JpdHRlbg", 2)).toEqual({ ok: true });
		// Full, and both entries are too young to audit.
		expect(await quota.reserve("w_cccccccccccccccccccc_bmV2ZXItd3JpdHRlbg", 2)).toEqual({
			ok: false,
			live: 2,
		});
		await quota.update({ live: [], finished: ["w_bbbbbbbbbbbbbbbbbbbb_bmV2ZXItd3JpdHRlbg"] });
		await quota.update({ live: [], finished: ["w_bbbbbbbbbbbbbbbbbbbb_bmV2ZXItd3JpdHRlbg"] });
		expect(await quota.liveCount()).toBe(1);
		expect(await quota.reserve("w_cccccccccccccccccccc_bmV2ZXItd3JpdHRlbg", 2)).toEqual({ ok: true });
		// Two minutes on, the asset object says neither watch exists: the audit frees both.
		world.vclock.advance(120_000);
		expect(await quota.reserve("w_dddddddddddddddddddd_bmV2ZXItd3JpdHRlbg", 2)).toEqual({ ok: true });
		expect(await quota.liveCount()).toBe(1);
	});
});

describe("request rate per token", () => {
	it("the budget is RATE_LIMIT_PER_MINUTE; beyond it 429 with Retry-After, and it refills", async () => {
		const c = await client("rate");
		world.fakes.script("rate-asset", { status: "Processing" });
		const get = () => c.request("GET", "/v1/assets/rate-asset", undefined, { RATE_LIMIT_PER_MINUTE: "5" });
		for (let i = 0; i < 5; i++) expect((await get()).status).toBe(200);
		const refused = await get();
		const err = await expectError(refused, 429, "rate_limited");
		expect(err.error.message).toContain("5 requests per minute");
		// One request's worth refills in 60 s / 5 = 12 s.
		expect(refused.headers.get("retry-after")).toBe("12");
		// Refused requests do not count against the budget.
		for (let i = 0; i < 3; i++) expect((await get()).status).toBe(429);
		world.vclock.advance(12_000);
		expect((await get()).status).toBe(200);
		expect((await get()).status).toBe(429);
	});

	it("every /v1 route counts, one token's use does not limit another, and open routes are never limited", async () => {
		const c1 = await client("rate-one");
		const c2 = await client("rate-two");
		const tight = { RATE_LIMIT_PER_MINUTE: "2" };
		expect((await c1.request("GET", "/v1/watches", undefined, tight)).status).toBe(200);
		expect((await c1.request("POST", "/v1/watches", { nope: 1 }, tight)).status).toBe(400);
		await expectError(await c1.request("GET", "/v1/stats", undefined, tight), 429, "rate_limited");
		await expectError(await c1.request("DELETE", "/v1/watches/w_x", undefined, tight), 429, "rate_limited");
		expect((await c2.request("GET", "/v1/watches", undefined, tight)).status).toBe(200);
		for (let i = 0; i < 5; i++) {
			expect((await app.request("/healthz", {}, { ...env, ...tight } as Env)).status).toBe(200);
		}
		// Requests without a valid token are refused before they are metered.
		for (let i = 0; i < 5; i++) {
			const res = await app.request("/v1/watches", { headers: { authorization: "Bearer nope" } }, {
				...env,
				...tight,
			} as Env);
			expect(res.status).toBe(401);
		}
	});

	it("RATE_LIMIT_PER_MINUTE=0 turns the limit off", async () => {
		const c = await client("rate-off");
		for (let i = 0; i < 1000; i++) {
			const res = await c.request("GET", "/v1/watches/w_x", undefined, { RATE_LIMIT_PER_MINUTE: "0" });
			expect(res.status).toBe(404);
		}
	});

	it("the default budget is 600 per minute", async () => {
		const c = await client("rate-default");
		let refusedAt = -1;
		for (let i = 0; i < 601 && refusedAt < 0; i++) {
			// The cheapest metered request: an id that is not one of ours answers 404 without a Durable Object.
			if ((await c.request("GET", "/v1/watches/w_x")).status === 429) refusedAt = i;
		}
		expect(refusedAt).toBe(600);
	});
});

describe("decideRate (GCRA)", () => {
	const T0 = 1_000_000;

	it("allows exactly `limit` at once from idle, then one per 60 s / limit", () => {
		for (const limit of [1, 5, 7, 600]) {
			let tat = 0;
			for (let i = 0; i < limit; i++) {
				const d = decideRate(tat, T0, limit);
				expect(d.allowed).toBe(true);
				if (d.allowed) expect(d.remaining).toBe(limit - i - 1);
				tat = d.tat;
			}
			const refused = decideRate(tat, T0, limit);
			expect(refused.allowed).toBe(false);
			if (!refused.allowed) expect(refused.retryAfterMs).toBeCloseTo(60_000 / limit, 3);
			expect(decideRate(tat, T0 + 60_000 / limit, limit).allowed).toBe(true);
		}
	});

	it("a caller that never pauses gets `limit` per rolling minute", () => {
		let tat = 0;
		let allowed = 0;
		for (let t = 0; t < 10 * 60_000; t += 10) {
			const d = decideRate(tat, T0 + t, 60);
			tat = d.tat;
			if (d.allowed) allowed++;
		}
		// 60 at once, then 60 per minute for the remaining nine minutes (±1 at the end).
		expect(allowed).toBeGreaterThanOrEqual(60 + 9 * 60 - 1);
		expect(allowed).toBeLessThanOrEqual(60 + 10 * 60);
	});

	it("a clock that moved back by more than a window starts afresh instead of waiting it out", () => {
		let tat = 0;
		for (let i = 0; i < 5; i++) tat = decideRate(tat, T0 + 3_600_000, 5).tat;
		expect(decideRate(tat, T0, 5).allowed).toBe(true);
	});
});
