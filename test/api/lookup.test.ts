// Status lookups at the edge: terminal answers, and watched Processing ones until the next check,
// come from the Workers cache without reaching the asset's Durable Object (proved by counting the
// object's `lookup` calls, and by making the objects unreachable), strong ETags and 304,
// `refresh=true` past the cache and rate-limited, and unwatched lookups coalesced into one upstream
// call that leaves the object's storage empty.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { app } from "../../src/app";
import { MEMORY_MAX_AGE_MS, TERMINAL_MAX_AGE_S } from "../../src/http/status-cache";
import { AssetWatcher } from "../../src/watcher/asset-watcher";
import {
	call,
	Fakes,
	json,
	TOKEN_A,
	TOKEN_B,
	type UpstreamAnswer,
	unique,
	VirtualClock,
} from "../support/fakes";
import { runDue, stubOf } from "../support/steps";

let fakes: Fakes;
// One clock for the whole file that only moves forward: the per-token request meter runs on it too.
const vclock = new VirtualClock();
let lookups: MockInstance<AssetWatcher["lookup"]>;
beforeEach(() => {
	fakes = new Fakes().install();
	vclock.install();
	// The asset objects run in this isolate: every RPC lookup that reaches one is counted here.
	lookups = vi.spyOn(AssetWatcher.prototype, "lookup");
});
afterEach(() => {
	lookups.mockRestore();
	fakes.uninstall();
	vclock.uninstall();
});

const objectLookups = (assetId: string) => lookups.mock.calls.filter((c) => c[0] === assetId).length;

type Asset = {
	asset_id: string;
	status: string;
	watched: boolean;
	checks: number;
	checked_at: string | null;
};

/** What the asset's object keeps in storage: its tables and its alarm. */
async function storageOf(assetId: string) {
	return runInDurableObject(stubOf(assetId), async (_instance, state) => ({
		tables: state.storage.sql
			.exec<{ name: string }>(
				"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
			)
			.toArray()
			.map((r) => r.name),
		alarm: await state.storage.getAlarm(),
	}));
}

describe("unwatched lookups", () => {
	it("N concurrent lookups of an unwatched asset make one upstream call", async () => {
		const a = unique("burst");
		fakes.script(a, { status: "Processing" });
		const answers = await Promise.all(Array.from({ length: 25 }, () => call("GET", `/v1/assets/${a}`)));
		expect(answers.map((r) => r.status)).toEqual(Array(25).fill(200));
		const bodies = await Promise.all(answers.map((r) => json<Asset>(r)));
		expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
		expect(bodies[0]).toMatchObject({ asset_id: a, status: "Processing", watched: false, checks: 1 });
		expect(fakes.callsFor(a)).toBe(1);
	});

	it("N concurrent lookups of an unwatched terminal asset make one upstream call too", async () => {
		const a = unique("burst-done");
		fakes.script(a, { status: "Failed" });
		const answers = await Promise.all(Array.from({ length: 25 }, () => call("GET", `/v1/assets/${a}`)));
		expect(answers.map((r) => r.status)).toEqual(Array(25).fill(200));
		expect(new Set(answers.map((r) => r.headers.get("etag"))).size).toBe(1);
		expect(fakes.callsFor(a)).toBe(1);
	});

	it("a few seconds later the next lookup checks again (the answer is cached only briefly)", async () => {
		const a = unique("later");
		fakes.script(a, { status: "Processing" });
		await call("GET", `/v1/assets/${a}`);
		vclock.advance(4_000);
		await call("GET", `/v1/assets/${a}`);
		expect(fakes.callsFor(a)).toBe(1);
		vclock.advance(1_500);
		await call("GET", `/v1/assets/${a}`);
		expect(fakes.callsFor(a)).toBe(2);
	});

	it("leave no lasting state: no tables, no alarm", async () => {
		const processing = unique("trace");
		const done = unique("trace-done");
		const ghost = unique("trace-ghost");
		fakes.script(processing, { status: "Processing" });
		fakes.script(done, { status: "Active" });
		await call("GET", `/v1/assets/${processing}`);
		await call("GET", `/v1/assets/${done}`);
		await call("GET", `/v1/assets/${done}?refresh=true`);
		expect((await call("GET", `/v1/assets/${ghost}`)).status).toBe(404);
		for (const a of [processing, done, ghost])
			expect(await storageOf(a)).toEqual({ tables: [], alarm: null });

		// The same probe sees a watched asset's state, so an empty answer above means something.
		const watched = unique("trace-watched");
		fakes.script(watched, { status: "Processing" });
		await call("POST", "/v1/watches", {
			body: { asset_id: watched, callback_url: "https://receiver.example/hook" },
		});
		const state = await storageOf(watched);
		expect(state.tables).toEqual(["records"]);
		expect(state.alarm).not.toBeNull();
	});

	it("an asset the upstream does not know is 404 asset_not_found", async () => {
		const res = await call("GET", `/v1/assets/${unique("ghost")}`);
		expect(res.status).toBe(404);
		expect(await json(res)).toMatchObject({ error: { code: "asset_not_found" } });
	});
});

describe("terminal answers at the edge", () => {
	it("a second lookup within the cache lifetime does not reach the Durable Object", async () => {
		const a = unique("edge");
		fakes.script(a, { status: "Active" });
		const first = await call("GET", `/v1/assets/${a}`);
		expect(first.status).toBe(200);
		expect(objectLookups(a)).toBe(1);
		const body = await first.text();

		// Past the object's own 5 s memory (had the lookup reached it, it would call the upstream
		// again), within the edge's minute.
		vclock.advance(30_000);
		const second = await call("GET", `/v1/assets/${a}`);
		expect(second.status).toBe(200);
		expect(await second.text()).toBe(body);
		expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
		expect(second.headers.get("content-type")).toMatch(/^application\/json/);
		expect(second.headers.get("x-request-id")).toBeTruthy();
		expect(objectLookups(a)).toBe(1);
		expect(fakes.callsFor(a)).toBe(1);
	});

	it("the cache is per asset, not per token, and auth still runs first", async () => {
		const a = unique("shared");
		fakes.script(a, { status: "Active" });
		expect((await call("GET", `/v1/assets/${a}`)).status).toBe(200);
		const other = await call("GET", `/v1/assets/${a}`, { token: TOKEN_B });
		expect(other.status).toBe(200);
		expect(objectLookups(a)).toBe(1);
		expect((await call("GET", `/v1/assets/${a}`, { token: null })).status).toBe(401);
		expect((await call("GET", `/v1/assets/${a}`, { token: "tok_wrong" })).status).toBe(401);
	});

	it("a watched asset's terminal answer is cached as well", async () => {
		const a = unique("edge-watched");
		fakes.script(a, { status: "Active" });
		await call("POST", "/v1/watches", {
			body: { asset_id: a, callback_url: "https://receiver.example/hook" },
		});
		await runInDurableObject(stubOf(a), async (instance) => {
			// The first check runs on the alarm; run it here rather than waiting for it.
			await (instance as AssetWatcher).alarm();
		});
		const first = await json<Asset>(await call("GET", `/v1/assets/${a}`));
		expect(first).toMatchObject({ status: "Active", watched: true, checks: 1 });
		await call("GET", `/v1/assets/${a}`);
		expect(objectLookups(a)).toBe(1);
		expect(fakes.callsFor(a)).toBe(1);
	});

	it("non-terminal answers are never cached at the edge", async () => {
		const a = unique("edge-busy");
		fakes.script(a, { status: "Processing" });
		const res = await call("GET", `/v1/assets/${a}`);
		expect(res.headers.get("cache-control")).toBe("no-store");
		expect(res.headers.get("etag")).toBeNull();
		await call("GET", `/v1/assets/${a}`);
		expect(objectLookups(a)).toBe(2);
	});

	it("carries a strong ETag and a private max-age no longer than the cache lifetime", async () => {
		const a = unique("headers");
		fakes.script(a, { status: "Failed" });
		const res = await call("GET", `/v1/assets/${a}`);
		expect(res.headers.get("etag")).toMatch(/^"[0-9a-f]{32}"$/);
		const cc = res.headers.get("cache-control") ?? "";
		expect(cc).toMatch(/^private, max-age=\d+$/);
		expect(Number(cc.split("=")[1])).toBeLessThanOrEqual(TERMINAL_MAX_AGE_S);
	});

	it("304 on a matching If-None-Match, from the cache and from the object alike", async () => {
		const a = unique("etag");
		fakes.script(a, { status: "Active" });
		const first = await call("GET", `/v1/assets/${a}`);
		const etag = first.headers.get("etag") as string;

		for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
			const res = await call("GET", `/v1/assets/${a}`, { headers: { "if-none-match": inm } });
			expect(res.status).toBe(304);
			expect(await res.text()).toBe("");
			expect(res.headers.get("etag")).toBe(etag);
			expect(res.headers.get("cache-control")).toMatch(/^private, max-age=\d+$/);
		}
		const stale = await call("GET", `/v1/assets/${a}`, { headers: { "if-none-match": '"0123"' } });
		expect(stale.status).toBe(200);
		expect(objectLookups(a)).toBe(1);

		// A forced refresh answers from the object; the unchanged representation still matches.
		const b = unique("etag-fresh");
		fakes.script(b, { status: "Active" });
		const tag = (await call("GET", `/v1/assets/${b}`)).headers.get("etag") as string;
		vclock.advance(10_000);
		const refreshed = await call("GET", `/v1/assets/${b}?refresh=true`, {
			headers: { "if-none-match": tag },
		});
		expect(objectLookups(b)).toBe(2);
		// checked_at moved on, so this is a new representation: a full 200 with a new tag.
		expect(refreshed.status).toBe(200);
		const again = await call("GET", `/v1/assets/${b}`, {
			headers: { "if-none-match": refreshed.headers.get("etag") as string },
		});
		expect(again.status).toBe(304);
		expect(objectLookups(b)).toBe(2);
	});
});

describe("watched Processing answers at the edge", () => {
	/** A watched asset after its first check: Processing, next check POLL_INITIAL_MS (2 s) on. */
	async function watchedProcessing(a: string, ...later: UpstreamAnswer[]) {
		fakes.script(a, { status: "Processing" }, ...later);
		const w = await json<{ id: string }>(
			await call("POST", "/v1/watches", {
				body: { asset_id: a, callback_url: "https://receiver.example/hook" },
			}),
		);
		await runDue(vclock, a);
		return w;
	}

	it("are served from the edge until the asset's next check, with ETag and 304", async () => {
		const a = unique("edge-processing");
		await watchedProcessing(a);
		const first = await call("GET", `/v1/assets/${a}`);
		const body = await first.text();
		expect(JSON.parse(body)).toMatchObject({ status: "Processing", watched: true, checks: 1 });
		expect(first.headers.get("cache-control")).toBe("private, max-age=2");
		const etag = first.headers.get("etag") as string;
		expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
		expect(objectLookups(a)).toBe(1);

		vclock.advance(1_500);
		const second = await call("GET", `/v1/assets/${a}`);
		expect(await second.text()).toBe(body);
		expect(second.headers.get("etag")).toBe(etag);
		const notModified = await call("GET", `/v1/assets/${a}`, { headers: { "if-none-match": etag } });
		expect(notModified.status).toBe(304);
		expect(objectLookups(a)).toBe(1);

		// At the next check the answer may change: the object is asked again.
		vclock.advance(500);
		expect((await call("GET", `/v1/assets/${a}`)).status).toBe(200);
		expect(objectLookups(a)).toBe(2);
	});

	it("a cache hit reaches no object: it is served with the asset objects unreachable", async () => {
		const processing = unique("edge-unreachable");
		await watchedProcessing(processing);
		const done = unique("edge-unreachable-done");
		fakes.script(done, { status: "Active" });
		for (const a of [processing, done]) expect((await call("GET", `/v1/assets/${a}`)).status).toBe(200);

		const unreachable = {
			...env,
			ASSET_WATCHER: {
				getByName() {
					throw new Error("no object may be reached");
				},
			},
		} as unknown as Env;
		const get = (a: string) =>
			// The same origin as `call`: the edge key is per origin and asset.
			app.request(
				`https://watcher.test/v1/assets/${a}`,
				{ headers: { authorization: `Bearer ${TOKEN_A}` } },
				unreachable,
			);
		for (const a of [processing, done]) {
			const res = await get(a);
			expect(res.status).toBe(200);
			expect(await json(res)).toMatchObject({ asset_id: a });
		}
		// The same env fails a lookup the edge does not hold: the hits above never needed the object.
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		try {
			expect((await get(unique("edge-unheld"))).status).toBe(500);
		} finally {
			error.mockRestore();
		}
	});

	it("an answer given while a check is in flight is not kept (the check may change it)", async () => {
		const a = unique("edge-in-flight");
		await watchedProcessing(a, { hang: true });
		vclock.advance(2_000);
		const alarm = runDurableObjectAlarm(stubOf(a));
		while (fakes.callsFor(a) < 2) await new Promise((r) => setTimeout(r, 5));
		const during = await call("GET", `/v1/assets/${a}`);
		expect(during.headers.get("cache-control")).toBe("no-store");
		expect(during.headers.get("etag")).toBeNull();
		// The hung check ends at UPSTREAM_TIMEOUT_MS as a transient error; polling goes on.
		await alarm;
		await call("GET", `/v1/assets/${a}`);
		expect(objectLookups(a)).toBe(2);
	});

	it("a Workers cache that throws costs an object call, never the lookup", async () => {
		const a = unique("edge-cache-down");
		fakes.script(a, { status: "Active" });
		const match = vi.spyOn(caches.default, "match").mockRejectedValue(new Error("cache down"));
		const put = vi.spyOn(caches.default, "put").mockRejectedValue(new Error("cache down"));
		try {
			expect((await call("GET", `/v1/assets/${a}`)).status).toBe(200);
			// Past the isolate's own few seconds: the cache is asked, fails, and the object answers.
			vclock.advance(MEMORY_MAX_AGE_MS);
			const res = await call("GET", `/v1/assets/${a}`);
			expect(res.status).toBe(200);
			expect((await json<Asset>(res)).status).toBe("Active");
			expect(objectLookups(a)).toBe(2);
			expect(match).toHaveBeenCalled();
		} finally {
			match.mockRestore();
			put.mockRestore();
		}
	});

	it("a cancel or a registration forgets the kept answer where it happened", async () => {
		const a = unique("edge-forget");
		const w = await watchedProcessing(a);
		expect((await json<Asset>(await call("GET", `/v1/assets/${a}`))).watched).toBe(true);
		expect((await call("DELETE", `/v1/watches/${w.id}`)).status).toBe(200);
		expect((await json<Asset>(await call("GET", `/v1/assets/${a}`))).watched).toBe(false);
		await call("POST", "/v1/watches", {
			body: { asset_id: a, callback_url: "https://receiver.example/again" },
		});
		expect((await json<Asset>(await call("GET", `/v1/assets/${a}`))).watched).toBe(true);
	});
});

describe("refresh=true", () => {
	it("skips the cache, checks the upstream, and is rate-limited per asset", async () => {
		const a = unique("refresh");
		fakes.script(a, { status: "Active" });
		const first = await json<Asset>(await call("GET", `/v1/assets/${a}`));
		vclock.advance(10_000);
		const forced = await call("GET", `/v1/assets/${a}?refresh=true`);
		expect(forced.status).toBe(200);
		const body = await json<Asset>(forced);
		expect(body.checked_at).not.toBe(first.checked_at);
		expect(fakes.callsFor(a)).toBe(2);

		const again = await call("GET", `/v1/assets/${a}?refresh=true`);
		expect(again.status).toBe(429);
		expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
		expect(await json(again)).toMatchObject({ error: { code: "rate_limited" } });
		expect(fakes.callsFor(a)).toBe(2);

		// The refreshed answer replaced the cached one.
		const cached = await json<Asset>(await call("GET", `/v1/assets/${a}`));
		expect(cached.checked_at).toBe(body.checked_at);
	});

	it("is rate-limited for a watched asset too", async () => {
		const a = unique("refresh-watched");
		fakes.script(a, { status: "Processing" });
		await call("POST", "/v1/watches", {
			body: { asset_id: a, callback_url: "https://receiver.example/hook" },
		});
		expect((await call("GET", `/v1/assets/${a}?refresh=true`)).status).toBe(200);
		const limited = await call("GET", `/v1/assets/${a}?refresh=true`);
		expect(limited.status).toBe(429);
		expect(limited.headers.get("retry-after")).toMatch(/^\d+$/);
	});
});

it("the asset objects are reached by name, one per asset id", async () => {
	// Sanity check of the spy's premise: two assets, two objects, each counted on its own.
	const [a, b] = [unique("one"), unique("two")];
	fakes.script(a, { status: "Processing" });
	fakes.script(b, { status: "Processing" });
	await Promise.all([call("GET", `/v1/assets/${a}`), call("GET", `/v1/assets/${b}`)]);
	expect([objectLookups(a), objectLookups(b)]).toEqual([1, 1]);
	expect(env.ASSET_WATCHER.idFromName(a).toString()).not.toBe(env.ASSET_WATCHER.idFromName(b).toString());
});
