// `Prefer: wait=N` on GET /v1/assets/:asset_id: a watched asset's lookup is held in its object
// until a check makes it terminal or N seconds pass (on the virtual clock: no test waits for real),
// with `Preference-Applied: wait=N`; many waiters share the one poll loop; a client that goes away
// leaves nothing behind; an unwatched asset answers at once. The header's grammar and the waiter
// set are tested on their own at the end.

import { runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_WAIT_S, waitPreference } from "../../src/http/prefer";
import { AssetWatcher } from "../../src/watcher/asset-watcher";
import { MAX_WAITERS, StatusWaiters } from "../../src/watcher/status-waiters";
import { call, Fakes, json, TOKEN_A, unique, VirtualClock } from "../support/fakes";
import { runDue, step, stubOf } from "../support/steps";

let fakes: Fakes;
const vclock = new VirtualClock();
let errors: string[];
beforeEach(() => {
	fakes = new Fakes().install();
	vclock.install();
	errors = [];
	vi.spyOn(console, "error").mockImplementation((line: unknown) => {
		errors.push(String(line));
	});
});
afterEach(() => {
	vi.restoreAllMocks();
	fakes.uninstall();
	vclock.uninstall();
});

type Asset = { asset_id: string; status: string; watched: boolean; checks: number };

/** A watched asset after its first check (Processing); its next check is POLL_INITIAL_MS (2 s) on. */
async function watched(a: string, ...later: { status: string }[]) {
	fakes.script(a, { status: "Processing" }, ...later);
	const res = await call("POST", "/v1/watches", {
		body: { asset_id: a, callback_url: `https://receiver.example/${a}` },
	});
	expect(res.status).toBe(201);
	await runDue(vclock, a);
	return json<{ id: string }>(res);
}

const waitFor = (a: string, seconds: number, headers: Record<string, string> = {}) =>
	call("GET", `/v1/assets/${a}`, { headers: { prefer: `wait=${seconds}`, ...headers } });

/** How many lookups wait in the asset's object right now. */
const waitersOf = (a: string) =>
	runInDurableObject(stubOf(a), (o) => (o as unknown as { waiters: StatusWaiters }).waiters.size);

/** Lets the pending lookups reach the object and start waiting (real time; a few ms). */
async function untilWaiting(a: string, n: number): Promise<void> {
	for (let i = 0; i < 400 && (await waitersOf(a)) < n; i++) await new Promise((r) => setTimeout(r, 5));
	expect(await waitersOf(a)).toBe(n);
}

describe("Prefer: wait=N on a watched asset", () => {
	it("ends early when a check finds the asset Active, with Preference-Applied and no extra check", async () => {
		const a = unique("wait-active");
		await watched(a, { status: "Active" });
		const started = vclock.t;
		const pending = waitFor(a, 30);
		await untilWaiting(a, 1);
		// The asset's own next check, on its own schedule.
		expect(await step(vclock, a)).toBe(true);
		const res = await pending;
		expect(res.status).toBe(200);
		expect(res.headers.get("preference-applied")).toBe("wait=30");
		expect(res.headers.get("cache-control")).toBe("no-cache");
		expect(await json<Asset>(res)).toMatchObject({ status: "Active", watched: true, checks: 2 });
		expect(vclock.t - started).toBeLessThan(30_000);
		expect(fakes.callsFor(a)).toBe(2);
		expect(await waitersOf(a)).toBe(0);
	});

	it("times out after N seconds with the status as it is, and nothing left waiting", async () => {
		const a = unique("wait-timeout");
		await watched(a);
		const calls = fakes.callsFor(a);
		const pending = waitFor(a, 5);
		await untilWaiting(a, 1);
		vclock.advance(4_999);
		await new Promise((r) => setTimeout(r, 20));
		expect(await waitersOf(a)).toBe(1);
		vclock.advance(1);
		const res = await pending;
		expect(res.status).toBe(200);
		expect(res.headers.get("preference-applied")).toBe("wait=5");
		expect(await json<Asset>(res)).toMatchObject({ status: "Processing", watched: true });
		// Waiting made no check of its own.
		expect(fakes.callsFor(a)).toBe(calls);
		expect(await waitersOf(a)).toBe(0);
		expect(vclock.sleeping).toBe(0);
	});

	it("many waiters share the one poll loop: one check answers them all", async () => {
		const a = unique("wait-many");
		await watched(a, { status: "Failed" });
		const pending = Array.from({ length: 8 }, () => waitFor(a, 60));
		await untilWaiting(a, 8);
		expect(await step(vclock, a)).toBe(true);
		const answers = await Promise.all(pending);
		for (const res of answers) {
			expect(res.headers.get("preference-applied")).toBe("wait=60");
			expect((await json<Asset>(res)).status).toBe("Failed");
		}
		expect(fakes.callsFor(a)).toBe(2);
		expect(await waitersOf(a)).toBe(0);
	});

	it("a client that goes away: nothing crashes, nothing is left behind, later lookups work", async () => {
		const a = unique("wait-abort");
		await watched(a, { status: "Processing" }, { status: "Active" });
		const client = new AbortController();
		const pending = exports.default.fetch(
			new Request(`https://watcher.test/v1/assets/${a}`, {
				headers: { authorization: `Bearer ${TOKEN_A}`, prefer: "wait=20" },
				signal: client.signal,
			}),
		);
		await untilWaiting(a, 1);
		client.abort();
		await expect(pending).rejects.toThrow();
		// The object's own timer ends the abandoned wait; nothing outlives it.
		vclock.advance(20_000);
		for (let i = 0; i < 100 && (await waitersOf(a)) > 0; i++) await new Promise((r) => setTimeout(r, 5));
		expect(await waitersOf(a)).toBe(0);
		expect(vclock.sleeping).toBe(0);
		// The asset goes on as before: a plain lookup, then a wait that a check ends.
		expect((await call("GET", `/v1/assets/${a}?refresh=true`)).status).toBe(200);
		const next = waitFor(a, 30);
		await untilWaiting(a, 1);
		await step(vclock, a);
		expect((await json<Asset>(await next)).status).toBe("Active");
		expect(errors).toEqual([]);
	});

	it("N over 60 is held for 60 s at most, and says so", async () => {
		const a = unique("wait-long");
		await watched(a);
		const pending = waitFor(a, 600);
		await untilWaiting(a, 1);
		vclock.advance(MAX_WAIT_S * 1000);
		const res = await pending;
		expect(res.headers.get("preference-applied")).toBe(`wait=${MAX_WAIT_S}`);
	});

	it("with If-None-Match, a wait that ends with nothing new is 304", async () => {
		const a = unique("wait-304");
		await watched(a);
		const etag = (await call("GET", `/v1/assets/${a}`)).headers.get("etag") as string;
		// Shorter than the 2 s to the next check: nothing can have changed when it ends.
		const pending = waitFor(a, 1, { "if-none-match": etag });
		await untilWaiting(a, 1);
		vclock.advance(1_000);
		const res = await pending;
		expect(res.status).toBe(304);
		expect(res.headers.get("etag")).toBe(etag);
		expect(res.headers.get("preference-applied")).toBe("wait=1");
	});

	it("cancelling the last watch ends the waits: nothing more will change", async () => {
		const a = unique("wait-cancel");
		const w = await watched(a);
		const pending = waitFor(a, 30);
		await untilWaiting(a, 1);
		expect((await call("DELETE", `/v1/watches/${w.id}`)).status).toBe(200);
		const res = await pending;
		expect(await json<Asset>(res)).toMatchObject({ status: "Processing", watched: false });
		expect(await waitersOf(a)).toBe(0);
	});

	it("an asset already terminal answers at once, from the edge when it holds the answer", async () => {
		const a = unique("wait-done");
		await watched(a, { status: "Active" });
		await step(vclock, a);
		// The asset objects run in this isolate: every lookup that reaches one is counted here.
		const lookups = vi.spyOn(AssetWatcher.prototype, "lookup");
		const first = await waitFor(a, 30);
		expect(first.headers.get("preference-applied")).toBe("wait=30");
		expect((await json<Asset>(first)).status).toBe("Active");
		expect(lookups).toHaveBeenCalledTimes(1);
		const second = await waitFor(a, 30);
		expect(second.headers.get("preference-applied")).toBe("wait=30");
		expect((await json<Asset>(second)).status).toBe("Active");
		expect(lookups).toHaveBeenCalledTimes(1);
	});
});

describe("Prefer: wait=N elsewhere", () => {
	it("an unwatched asset answers at once, without Preference-Applied", async () => {
		const a = unique("wait-unwatched");
		fakes.script(a, { status: "Processing" });
		const res = await waitFor(a, 30);
		expect(res.status).toBe(200);
		expect(res.headers.get("preference-applied")).toBeNull();
		expect(await json<Asset>(res)).toMatchObject({ status: "Processing", watched: false });
	});

	it("a preference this service does not read is ignored, never refused", async () => {
		const a = unique("wait-odd");
		await watched(a);
		for (const prefer of [
			"wait",
			"wait=abc",
			"wait=-1",
			"wait=0",
			"respond-async",
			"handling=lenient",
			"wait=1.5",
		]) {
			const res = await call("GET", `/v1/assets/${a}`, { headers: { prefer } });
			expect(res.status, prefer).toBe(200);
			expect(res.headers.get("preference-applied"), prefer).toBeNull();
		}
		expect(await waitersOf(a)).toBe(0);
	});
});

describe("waitPreference", () => {
	it.each([
		["wait=10", 10],
		["WAIT=10", 10],
		[' wait = "7" ', 7],
		["respond-async, wait=100", MAX_WAIT_S],
		["wait=5; foo=bar", 5],
		["handling=strict, wait=3, wait=9", 3],
		["wait=60", 60],
		["wait=61", MAX_WAIT_S],
		["wait=0", null],
		["wait=", null],
		["wait=abc", null],
		["wait=-3", null],
		["wait=2.5", null],
		["waiting=5", null],
		["", null],
	])("%j → %s", (header, expected) => {
		expect(waitPreference(header)).toBe(expected);
	});
});

describe("StatusWaiters", () => {
	const never = () => new Promise<void>(() => {});

	it("wake ends every wait; a wait ends on its own timer; each leaves the set", async () => {
		const w = new StatusWaiters();
		const a = w.wait(1000, never);
		const b = w.wait(1000, never);
		expect(w.size).toBe(2);
		w.wake();
		await Promise.all([a, b]);
		expect(w.size).toBe(0);
		let ended: () => void = () => {};
		const timed = w.wait(1000, () => new Promise<void>((r) => (ended = r)));
		ended();
		await timed;
		expect(w.size).toBe(0);
	});

	it("a woken wait clears its timer", async () => {
		const w = new StatusWaiters();
		let signal: AbortSignal | null = null;
		const p = w.wait(1000, (_ms, s) => {
			signal = s;
			return never();
		});
		w.wake();
		await p;
		expect((signal as AbortSignal | null)?.aborted).toBe(true);
	});

	it(`holds at most ${MAX_WAITERS}; the next is refused (answered at once)`, () => {
		const w = new StatusWaiters();
		for (let i = 0; i < MAX_WAITERS; i++) expect(w.wait(1000, never)).not.toBeNull();
		expect(w.wait(1000, never)).toBeNull();
		w.wake();
		expect(w.wait(1000, never)).not.toBeNull();
	});
});
