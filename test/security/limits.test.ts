// Every abuse limit, at its edge: body size (whatever Content-Length claims), metadata size,
// callback header count and size, live watches per asset (in the asset's object, lowered on that
// object for the test) and per token (the worker's cached count, bursts included), and the
// per-token request rate through the Rate Limiting binding (429 with Retry-After).

import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_CALLBACK_HEADERS, MAX_METADATA_BYTES } from "../../src/api/requests";
import { app } from "../../src/app";
import { hashToken } from "../../src/core/ids";
import { RATE_PERIOD_S, REQUESTS_PER_CALL, secondsToWindowEnd } from "../../src/http/request-rate";
import { COUNT_MAX_AGE_MS, forgetLocalCounts } from "../../src/http/watch-quota";
import { liveWatchCount } from "../../src/watch-index/reads";
import { call, json, RATE_LIMITER_TEST, TEST_RATE_PER_MINUTE, TOKEN_A, useFakeWorld } from "../support/fakes";
import { runDue, stepUntil } from "../support/steps";

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

/**
 * A fresh client identity for tests that count per token: its own owner, so its own count and its
 * own rate-limit key. Each request runs with an execution context, and whatever it left to run in
 * the background (a refresh of the token's count) finishes before the test goes on.
 */
async function client(name: string, vars: Record<string, string> = {}) {
	const id = `${name}-${Math.random().toString(36).slice(2, 8)}`;
	const token = `tok_${id}_${Math.random().toString(36).slice(2, 10)}`;
	const settings = { ...env, API_TOKENS: `${id}:${token}`, ...vars } as Env;
	const owner = await hashToken(`client:${id}`);
	const request = async (
		method: string,
		path: string,
		body?: unknown,
		extra: Record<string, unknown> = {},
	) => {
		const ctx = createExecutionContext();
		const res = await app.request(
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
			ctx,
		);
		await waitOnExecutionContext(ctx);
		return res;
	};
	/** The token's live watches as the index shards hold them (what its count is refreshed from). */
	const live = () => liveWatchCount(env, owner);
	const register = (assetId: string, extra: Record<string, unknown> = {}) =>
		request("POST", "/v1/watches", {
			asset_id: assetId,
			callback_url: `https://receiver.example/${assetId}`,
			...extra,
		});
	return { token, owner, request, register, live };
}

/** Runs the alarm a registration set (the first check, and the push to the index shard). */
const settle = async (...assetIds: string[]) => {
	for (const a of assetIds) await runDue(world.vclock, a);
};

describe("live watches per asset", () => {
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
});

describe("live watches per token (MAX_WATCHES_PER_TOKEN, from a cached count)", () => {
	afterEach(() => forgetLocalCounts());

	it("counts across assets; an existing watch is answered at the limit; a refused one leaves nothing", async () => {
		const c = await client("pertoken", { MAX_WATCHES_PER_TOKEN: "2" });
		const [a0, a1, a2] = [unique("pt"), unique("pt"), unique("pt")] as [string, string, string];
		const w0 = await json<Watch>(await c.register(a0));
		expect((await c.register(a1)).status).toBe(201);
		const err = await expectError(await c.register(a2), 409, "too_many_watches");
		expect(err.error.message).toContain("this token already has 2 live watches");
		// A refused registration leaves nothing behind.
		expect((await c.request("GET", `/v1/assets/${a2}`)).status).toBe(404);
		await settle(a0, a1);
		expect(await c.live()).toBe(2);
		// Re-registering an existing watch at the limit is not refused.
		expect((await c.register(a1)).status).toBe(200);

		// A cancel frees the slot in the index at once; the token's count follows within
		// COUNT_MAX_AGE_MS, because a refusal is only ever made from a count younger than that.
		expect((await c.request("DELETE", `/v1/watches/${w0.id}`)).status).toBe(200);
		expect(await c.live()).toBe(1);
		expect((await c.register(a2)).status).toBe(409);
		world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		expect((await c.register(a2)).status).toBe(201);
		await settle(a2);
		expect(await c.live()).toBe(2);
	});

	it("a registration under the limit waits on no count: an index that cannot answer stops only the refresh", async () => {
		const c = await client("no-wait", { MAX_WATCHES_PER_TOKEN: "5" });
		await c.register(unique("nw"));
		const broken = {
			WATCH_INDEX: {
				getByName: () => {
					throw new Error("index unreachable");
				},
			},
		};
		world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		try {
			const asset = unique("nw");
			const res = await c.request(
				"POST",
				"/v1/watches",
				{ asset_id: asset, callback_url: "https://receiver.example/nw" },
				broken,
			);
			expect(res.status).toBe(201);
			expect(warn.mock.calls.map((w) => String(w[0])).join("\n")).toContain(
				"token watch count not refreshed",
			);
		} finally {
			warn.mockRestore();
		}
	});

	it("a concurrent burst from one isolate stops exactly at the limit", async () => {
		const c = await client("burst", { MAX_WATCHES_PER_TOKEN: "3" });
		const warm = unique("b");
		expect((await c.register(warm)).status).toBe(201);
		const assets = Array.from({ length: 10 }, () => unique("b"));
		const statuses = (await Promise.all(assets.map((a) => c.register(a)))).map((r) => r.status);
		expect(statuses.filter((s) => s === 201).length).toBe(2);
		expect(statuses.filter((s) => s === 409).length).toBe(8);
		for (const [i, a] of assets.entries()) if (statuses[i] === 201) await settle(a);
		await settle(warm);
		expect(await c.live()).toBe(3);
	});

	it("a burst split between isolates passes the limit by what the others added within the count's age, then stops", async () => {
		const c = await client("split", { MAX_WATCHES_PER_TOKEN: "4" });
		const first = [unique("s"), unique("s")];
		for (const a of first) expect((await c.register(a)).status).toBe(201);
		// A second isolate of the same location: its count starts from the one the first stored in
		// the Workers cache, which does not hold the first isolate's two new watches.
		forgetLocalCounts();
		const second = Array.from({ length: 5 }, () => unique("s"));
		const statuses: number[] = [];
		for (const a of second) statuses.push((await c.register(a)).status);
		expect(statuses).toEqual([201, 201, 201, 201, 409]);
		await settle(...first, ...second.slice(0, 4));
		// Over by the two the other isolate added: the bound README § Security and limits states.
		expect(await c.live()).toBe(6);
		world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		const refused = await expectError(await c.register(unique("s")), 409, "too_many_watches");
		expect(refused.error.message).toContain("this token already has 6 live watches");
		// A third isolate reads the refreshed count from the cache.
		forgetLocalCounts();
		await expectError(await c.register(unique("s")), 409, "too_many_watches");
	});

	it("follows each watch: live while watching or notifying, freed when delivered, taken again on redeliver", async () => {
		const c = await client("lifecycle");
		const asset = unique("life");
		world.fakes.script(asset, { status: "Processing" }, { status: "Active" });
		const w = await json<Watch>(await c.register(asset));
		await settle(asset);
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
		const first = await json<Watch>(await c.register(asset));
		const state = async () => (await json<Watch>(await c.request("GET", `/v1/watches/${first.id}`))).state;
		await stepUntil(world.vclock, asset, async () => (await state()) === "delivered");
		const res = await c.request("POST", "/v1/watches", {
			asset_id: asset,
			callback_url: "https://receiver.example/s2",
			events: ["asset.failed"],
		});
		expect((await json<Watch>(res)).state).toBe("skipped");
		await settle(asset);
		expect(await c.live()).toBe(0);
	});

	it("a Workers cache that throws is skipped: the count lives on in memory", async () => {
		const c = await client("cache-down", { MAX_WATCHES_PER_TOKEN: "2" });
		const match = vi.spyOn(caches.default, "match").mockRejectedValue(new Error("cache down"));
		const put = vi.spyOn(caches.default, "put").mockRejectedValue(new Error("cache down"));
		try {
			expect((await c.register(unique("cd"))).status).toBe(201);
			expect((await c.register(unique("cd"))).status).toBe(201);
			await expectError(await c.register(unique("cd")), 409, "too_many_watches");
			expect(match).toHaveBeenCalled();
			expect(put).toHaveBeenCalled();
		} finally {
			match.mockRestore();
			put.mockRestore();
		}
	});
});

/** The binding's windows: one minute, aligned to the real clock (the service's clock is virtual here). */
const windowOf = (ms: number) => Math.floor(ms / (RATE_PERIOD_S * 1000));

/**
 * Runs a burst inside one of the binding's windows. A burst that a window edge cut in two proves
 * nothing, so it is run once more (each run makes its own client, so its own count).
 */
async function inOneWindow(burst: () => Promise<void>): Promise<void> {
	for (let attempt = 1; ; attempt++) {
		const before = windowOf(Date.now());
		try {
			await burst();
			return;
		} catch (err) {
			if (windowOf(Date.now()) === before || attempt >= 3) throw err;
		}
	}
}

/** The tight test binding (5 blocks of 10: 50 a minute) in place of wrangler.toml's, and the var that names it. */
const TIGHT = {
	RATE_LIMITER: RATE_LIMITER_TEST,
	RATE_LIMIT_PER_MINUTE: String(TEST_RATE_PER_MINUTE),
} as unknown as Record<string, string>;

/** A binding (the tight one unless told), counting how often it is asked. */
function countedLimiter(inner: RateLimit = RATE_LIMITER_TEST, perMinute = String(TEST_RATE_PER_MINUTE)) {
	const asked = { calls: 0 };
	const limiter: RateLimit = {
		limit(options) {
			asked.calls++;
			return inner.limit(options);
		},
	};
	return {
		asked,
		vars: { RATE_LIMITER: limiter, RATE_LIMIT_PER_MINUTE: perMinute } as unknown as Record<string, string>,
	};
}

describe("request rate per token (the Rate Limiting binding)", () => {
	it("the binding's limit × 10 a minute; beyond it 429 with Retry-After to the window's end", async () => {
		world.fakes.script("rate-asset", { status: "Processing" });
		await inOneWindow(async () => {
			const c = await client("rate");
			const get = () => c.request("GET", "/v1/assets/rate-asset", undefined, TIGHT);
			for (let i = 0; i < TEST_RATE_PER_MINUTE; i++) expect((await get()).status).toBe(200);
			const refused = await get();
			const err = await expectError(refused, 429, "rate_limited");
			expect(err.error.message).toContain(`${TEST_RATE_PER_MINUTE} requests per minute`);
			// Until the binding's current minute ends (it counts in windows on the real clock).
			const retry = Number(refused.headers.get("retry-after"));
			const left = RATE_PERIOD_S - (Math.floor(Date.now() / 1000) % RATE_PERIOD_S);
			expect(retry).toBeGreaterThanOrEqual(1);
			expect(retry).toBeLessThanOrEqual(RATE_PERIOD_S);
			expect(Math.abs(retry - left)).toBeLessThanOrEqual(1);
			for (let i = 0; i < 3; i++) expect((await get()).status).toBe(429);
		});
	});

	it(`asks the binding once per block of ${REQUESTS_PER_CALL} requests`, async () => {
		await inOneWindow(async () => {
			const { asked, vars } = countedLimiter(env.RATE_LIMITER, "600");
			const c = await client("rate-blocks");
			for (let i = 0; i < 25; i++) await c.request("GET", "/v1/watches/w_x", undefined, vars);
			expect(asked.calls).toBe(3);
			// Requests arriving together do not share a call in flight (no request may await another's
			// I/O): each that finds no block left buys one, and what they bought serves the next ones.
			const d = await client("rate-blocks-together");
			const before = asked.calls;
			const statuses = await Promise.all(
				Array.from(
					{ length: 8 },
					async () => (await d.request("GET", "/v1/watches/w_x", undefined, vars)).status,
				),
			);
			expect(statuses).toEqual(Array(8).fill(404));
			const together = asked.calls - before;
			expect(together).toBeGreaterThanOrEqual(1);
			expect(together).toBeLessThanOrEqual(8);
			for (let i = 0; i < together * REQUESTS_PER_CALL - 8; i++)
				await d.request("GET", "/v1/watches/w_x", undefined, vars);
			expect(asked.calls - before).toBe(together);
		});
	});

	it("a request never waits on another request's call to the binding: each that needs a block buys one", async () => {
		// The runtime forbids awaiting I/O another request started; sharing one call in flight failed
		// requests under load. Three requests meet an empty allowance while the binding is slow.
		let release: () => void = () => {};
		const gate = new Promise<void>((r) => {
			release = r;
		});
		const asked = { calls: 0 };
		const slow: RateLimit = {
			async limit() {
				asked.calls++;
				await gate;
				return { success: true };
			},
		};
		const c = await client("rate-no-share");
		const vars = { RATE_LIMITER: slow, RATE_LIMIT_PER_MINUTE: "600" } as unknown as Record<string, string>;
		const pending = Array.from({ length: 3 }, () => c.request("GET", "/v1/watches/w_x", undefined, vars));
		for (let i = 0; i < 200 && asked.calls < 3; i++) await new Promise((r) => setTimeout(r, 2));
		expect(asked.calls).toBe(3);
		release();
		expect((await Promise.all(pending)).map((r) => r.status)).toEqual([404, 404, 404]);
		// What they bought serves the next requests without asking again.
		for (let i = 0; i < 20; i++) await c.request("GET", "/v1/watches/w_x", undefined, vars);
		expect(asked.calls).toBe(3);
	});

	it("every /v1 route counts, one token's use does not limit another, and open routes are never limited", async () => {
		await inOneWindow(async () => {
			const c1 = await client("rate-one");
			const c2 = await client("rate-two");
			const mixed: [string, string, unknown, number][] = [
				["GET", "/v1/watches", undefined, 200],
				["POST", "/v1/watches", { nope: 1 }, 400],
				["GET", "/v1/stats", undefined, 200],
				["GET", "/v1/watches/w_x", undefined, 404],
				["GET", "/v1/no-such-route", undefined, 404],
			];
			for (let i = 0; i < TEST_RATE_PER_MINUTE; i++) {
				const [method, path, body, status] = mixed[i % mixed.length] as [string, string, unknown, number];
				expect((await c1.request(method, path, body, TIGHT)).status).toBe(status);
			}
			await expectError(await c1.request("GET", "/v1/stats", undefined, TIGHT), 429, "rate_limited");
			await expectError(await c1.request("DELETE", "/v1/watches/w_x", undefined, TIGHT), 429, "rate_limited");
			expect((await c2.request("GET", "/v1/watches", undefined, TIGHT)).status).toBe(200);
		});
		for (let i = 0; i < 60; i++) {
			expect((await app.request("/healthz", {}, { ...env, ...TIGHT } as Env)).status).toBe(200);
		}
		// Requests without a valid token are refused before they are counted.
		for (let i = 0; i < 60; i++) {
			const res = await app.request("/v1/watches", { headers: { authorization: "Bearer nope" } }, {
				...env,
				...TIGHT,
			} as Env);
			expect(res.status).toBe(401);
		}
	});

	it("RATE_LIMIT_PER_MINUTE=0 turns the check off: the binding is not asked", async () => {
		const { asked, vars } = countedLimiter();
		const c = await client("rate-off");
		for (let i = 0; i < 100; i++) {
			const res = await c.request("GET", "/v1/watches/w_x", undefined, {
				...vars,
				RATE_LIMIT_PER_MINUTE: "0",
			});
			expect(res.status).toBe(404);
		}
		expect(asked.calls).toBe(0);
	});

	it("the deployed binding (wrangler.toml) allows 600 per minute", async () => {
		await inOneWindow(async () => {
			const c = await client("rate-default");
			let refusedAt = -1;
			for (let i = 0; i < 601 && refusedAt < 0; i++) {
				// The cheapest metered request: an id that is not one of ours answers 404 without a Durable Object.
				if ((await c.request("GET", "/v1/watches/w_x")).status === 429) refusedAt = i;
			}
			expect(refusedAt).toBe(600);
		});
	});

	it("a binding that throws, rejects, answers oddly or is missing is skipped: served, never a 5xx", async () => {
		const warnings: string[] = [];
		const warn = vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
			warnings.push(String(line));
		});
		try {
			const broken: [string, unknown][] = [
				[
					"throws",
					{
						limit: () => {
							throw new Error("limiter exploded");
						},
					},
				],
				["rejects", { limit: async () => Promise.reject(new Error("limiter unreachable")) }],
				["answers null", { limit: async () => null }],
				["is missing", undefined],
			];
			for (const [label, limiter] of broken) {
				const c = await client(`rate-broken-${label.replace(/ /g, "-")}`);
				for (let i = 0; i < 3; i++) {
					const res = await c.request("GET", "/v1/watches/w_x", undefined, {
						RATE_LIMIT_PER_MINUTE: "600",
						RATE_LIMITER: limiter,
					} as Record<string, string>);
					expect(res.status, label).toBe(404);
				}
			}
			// One warning per block that could not be counted: the three that failed.
			expect(warnings.filter((w) => w.includes("rate limiter unavailable")).length).toBe(3);
			expect(warnings.join("\n")).toContain("limiter exploded");
			// /healthz names a missing binding while the limit is on (the runtime cannot see its number).
			const health = await app.request("/healthz", {}, { ...env, RATE_LIMITER: undefined } as unknown as Env);
			expect(health.status).toBe(503);
			expect(await json(health)).toMatchObject({ invalid_config: [{ name: "RATE_LIMITER" }] });
			const off = await app.request("/healthz", {}, {
				...env,
				RATE_LIMITER: undefined,
				RATE_LIMIT_PER_MINUTE: "0",
			} as unknown as Env);
			expect(off.status).toBe(200);
		} finally {
			warn.mockRestore();
		}
	});
});

describe("secondsToWindowEnd", () => {
	it("counts down to the next minute boundary, never 0", () => {
		const minute = 1_795_885_200_000; // a whole minute
		expect(secondsToWindowEnd(minute)).toBe(60);
		expect(secondsToWindowEnd(minute + 999)).toBe(60);
		expect(secondsToWindowEnd(minute + 1_000)).toBe(59);
		expect(secondsToWindowEnd(minute + 59_999)).toBe(1);
		expect(secondsToWindowEnd(minute + 60_000)).toBe(60);
	});
});
