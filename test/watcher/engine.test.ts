// The poll engine inside the asset object, stepped alarm by alarm: the status lookup stays true
// while uneventful checks write nothing but their alarm (after an eviction too, and after a crash
// mid-check); what finished assets teach the model is used by registrations a minute later, and a
// model that is corrupt or unreachable means the backoff; the upstream budget's slots are waited
// for, its leases spare the asks, and when it is unreachable the checks go on at their times.
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { forgetSnapshots } from "../../src/poll-model/snapshots";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();

type Status = {
	status: string;
	checks: number;
	checked_at: string | null;
	next_check_at: string | null;
	last_error: string | null;
};
const status = async (asset: string) => json<Status>(await call("GET", `/v1/assets/${asset}`));
const register = async (asset: string) => {
	const res = await call("POST", "/v1/watches", {
		body: { asset_id: asset, callback_url: `https://receiver.example/${asset}` },
	});
	expect(res.status).toBe(201);
};
const callTimes = (asset: string) =>
	world.fakes.upstreamCalls.filter((c) => c.assetId === asset).map((c) => c.at);
const assetRow = (asset: string) =>
	runInDurableObject(stubOf(asset), (_o, s) =>
		s.storage.sql.exec<{ checks: number; next_check_at: number | null }>("SELECT * FROM asset").one(),
	);

/** Replaces a method of a class's prototype for one test (the objects share the tests' isolate). */
const restores: (() => void)[] = [];
type Method = (...args: unknown[]) => unknown;
async function patch(ns: DurableObjectNamespace, method: string, f: (original: Method) => Method) {
	const proto = await runInDurableObject(ns.getByName("global"), (o) => Object.getPrototypeOf(o));
	const original = proto[method];
	proto[method] = f(original);
	restores.push(() => {
		proto[method] = original;
	});
}
afterEach(() => {
	for (const r of restores.splice(0)) r();
});

describe("where the checks stand", () => {
	// Evicting an object takes a few hundred ms in the test runtime.
	it("is true after every uneventful check, which writes nothing but its alarm, evicted or not", {
		timeout: 30_000,
	}, async () => {
		const asset = unique("true");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		for (let i = 0; i < 12; i++) {
			// Every third step the object is evicted first: its next run remembers nothing.
			if (i % 3 === 2) await evictDurableObject(stubOf(asset)).catch(() => {});
			await step(world.vclock, asset);
			if (i % 4 === 1) await evictDurableObject(stubOf(asset)).catch(() => {});
			const s = await status(asset);
			const times = callTimes(asset);
			expect(s.checks).toBe(times.length);
			expect(s.checked_at).toBe(new Date(times.at(-1) as number).toISOString());
			expect(Date.parse(s.next_check_at as string)).toBe(await alarmAt(asset));
		}
		// Only the first check (the answer made status, fields and plan known) wrote the row.
		expect((await assetRow(asset)).checks).toBe(1);
	});

	it("is true after a run that died mid-check: the check is made again at the next plan time", async () => {
		const asset = unique("crash");
		world.fakes.script(
			asset,
			{ status: "Processing" },
			{ status: "Processing" },
			{ hang: true },
			{ status: "Processing" },
		);
		await register(asset);
		await step(world.vclock, asset);
		await step(world.vclock, asset);
		world.vclock.t = (await alarmAt(asset)) as number;
		const run = runDurableObjectAlarm(stubOf(asset)).catch(() => "aborted");
		while (world.fakes.callsFor(asset) < 3) await new Promise((r) => setTimeout(r, 5));
		const { abortAllDurableObjects } = await import("cloudflare:test");
		await abortAllDurableObjects();
		await run;
		// The alarm set first in that run is the next plan time, not a lease 40 s away.
		const next = (await alarmAt(asset)) as number;
		expect(next - world.vclock.t).toBeLessThanOrEqual(10_000);
		await step(world.vclock, asset);
		const s = await status(asset);
		expect(s.checks).toBe(world.fakes.callsFor(asset));
		expect(s).toMatchObject({ status: "Processing", last_error: null });
	});

	it("a refresh between scheduled checks counts, and the scheduled check stays where it was", async () => {
		const asset = unique("refresh");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		await step(world.vclock, asset);
		await step(world.vclock, asset);
		const due = await alarmAt(asset);
		world.vclock.advance(500);
		const s = await json<Status>(await call("GET", `/v1/assets/${asset}?refresh=true`));
		expect(s.checks).toBe(3);
		expect(Date.parse(s.next_check_at as string)).toBe(due);
		await evictDurableObject(stubOf(asset)).catch(() => {});
		expect((await status(asset)).checks).toBe(3);
	});
});

/** An asset whose first check finds it already finished, `ms` after its CreateTime. */
async function finish(type: string, ms: number): Promise<void> {
	const asset = unique("done");
	const created = world.vclock.t - ms - 1000;
	world.fakes.script(asset, {
		status: "Active",
		data: {
			AssetType: type,
			CreateTime: new Date(created).toISOString(),
			UpdateTime: new Date(created + ms).toISOString(),
		},
	});
	await register(asset);
	await step(world.vclock, asset);
}

/** A new asset of `type`, created a second ago: the gap its plan puts after its first check. */
async function firstGap(type: string): Promise<number> {
	const asset = unique("fresh");
	world.fakes.script(asset, {
		status: "Processing",
		data: { AssetType: type, CreateTime: new Date(world.vclock.t - 1000).toISOString() },
	});
	await register(asset);
	await step(world.vclock, asset);
	const s = await status(asset);
	return Date.parse(s.next_check_at as string) - Date.parse(s.checked_at as string);
}

// Each of these finishes some 25 assets, one alarm run each.
describe("the model", { timeout: 30_000 }, () => {
	it("learns from finished assets, and registrations plan from it within a minute", async () => {
		const type = unique("Kind");
		expect(await firstGap(type)).toBe(2000); // nothing learned: the backoff
		for (let i = 0; i < 25; i++) await finish(type, 240_000 + i * 2000);
		// Still the snapshot of less than a minute ago...
		expect(await firstGap(type)).toBe(2000);
		// ...and a minute later, the model: nothing of this type has ever finished before 4 min.
		world.vclock.advance(61_000);
		expect(await firstGap(type)).toBe(60_000);
		const stats = await json<{ upstream: { model: { type: string; samples: number; p50_ms: number }[] } }>(
			await call("GET", "/v1/stats"),
		);
		expect(stats.upstream.model.find((m) => m.type === type)).toMatchObject({ samples: 25, p50_ms: 264_000 });
	});

	it("corrupt, it counts as none: the backoff, and the next sample starts it again", async () => {
		const type = unique("Corrupt");
		for (let i = 0; i < 25; i++) await finish(type, 240_000);
		const model = env.POLL_MODEL.getByName("global");
		await runInDurableObject(model, (_o, s) => {
			s.storage.sql.exec('UPDATE models SET model = \'{"v":1,"s":["junk"]}\' WHERE type = ?', type);
		});
		await evictDurableObject(model).catch(() => {});
		forgetSnapshots();
		world.vclock.advance(61_000);
		expect(await firstGap(type)).toBe(2000);
		const stats = await json<{ upstream: { model_problems: { type: string; problem: string }[] } }>(
			await call("GET", "/v1/stats"),
		);
		expect(stats.upstream.model_problems).toContainEqual({ type, problem: expect.stringMatching(/shape/) });
		await finish(type, 240_000);
		await evictDurableObject(model).catch(() => {});
		forgetSnapshots();
		const after = await json<{
			upstream: { model: { type: string; samples: number }[]; model_problems: { type: string }[] };
		}>(await call("GET", "/v1/stats"));
		expect(after.upstream.model.find((m) => m.type === type)?.samples).toBe(1);
		expect(after.upstream.model_problems.map((p) => p.type)).not.toContain(type);
	});

	it("unreachable, it counts as none: the backoff, and the checks go on", async () => {
		await patch(env.POLL_MODEL as unknown as DurableObjectNamespace, "snapshots", () => async () => {
			throw new Error("model object unreachable");
		});
		forgetSnapshots();
		const type = unique("Gone");
		const asset = unique("gone");
		world.fakes.script(asset, { status: "Processing", data: { AssetType: type } });
		await register(asset);
		for (let i = 0; i < 4; i++) await step(world.vclock, asset);
		const times = callTimes(asset);
		expect(times.slice(1).map((t, i) => t - (times[i] as number))).toEqual([2000, 3000, 4500]);
	});
});

describe("the upstream budget", () => {
	const budget = () => env.UPSTREAM_BUDGET.getByName("global");

	it("well under it, a check takes a lease and the next ones go without asking", async () => {
		let asks = 0;
		await patch(
			env.UPSTREAM_BUDGET as unknown as DurableObjectNamespace,
			"acquire",
			(original) =>
				function (this: unknown, ...args: unknown[]) {
					asks++;
					return original.apply(this, args);
				},
		);
		const asset = unique("leased");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		for (let i = 0; i < 6; i++) await step(world.vclock, asset);
		expect(world.fakes.callsFor(asset)).toBe(6);
		expect(asks).toBe(1);
		expect(await budget().state()).toMatchObject({ mode: "open", open_leases: 1 });
	});

	it("over it, a check waits for its turn (its alarm and its row say when), and is made when it comes", async () => {
		const now = world.vclock.t;
		// A hundred other callers took the next seconds (and never come back: their places lapse).
		for (let i = 0; i < 100; i++) await budget().acquire({ ticket: unique("other"), due: now });
		const asset = unique("waits");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		await runDurableObjectAlarm(stubOf(asset));
		expect(world.fakes.callsFor(asset)).toBe(0);
		const waiting = await status(asset);
		const turn = Date.parse(waiting.next_check_at as string);
		expect(turn).toBeGreaterThan(now + 1000);
		expect(await alarmAt(asset)).toBe(turn);
		expect((await assetRow(asset)).next_check_at).toBe(turn);
		await stepUntil(world.vclock, asset, () => world.fakes.callsFor(asset) === 1, 10);
		expect((await status(asset)).checks).toBe(1);
		expect(world.vclock.t - now).toBeLessThan(10_000);
	});

	it("a 429 anywhere halves the rate for everyone, and it is counted by code", async () => {
		const asset = unique("limited");
		world.fakes.script(
			asset,
			{ http: 429, body: "", headers: { "retry-after": "3" } },
			{ status: "Processing" },
		);
		await register(asset);
		await step(world.vclock, asset);
		const state = await budget().state();
		expect(state.rate_rps).toBe(10);
		expect(state.mode).toBe("metered");
		expect(state.errors_last_hour["429"]).toBeGreaterThanOrEqual(1);
		// The asset itself waits as the upstream asked, then goes on.
		const s = await status(asset);
		expect(Date.parse(s.next_check_at as string) - Date.parse(s.checked_at as string)).toBeGreaterThanOrEqual(
			3000,
		);
		await step(world.vclock, asset);
		expect((await status(asset)).last_error).toBeNull();
	});

	it("unreachable, the checks go on at their times, unmetered", async () => {
		await patch(env.UPSTREAM_BUDGET as unknown as DurableObjectNamespace, "acquire", () => async () => {
			throw new Error("budget object unreachable");
		});
		const asset = unique("unmetered");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		for (let i = 0; i < 5; i++) await step(world.vclock, asset);
		const times = callTimes(asset);
		expect(times.slice(1).map((t, i) => t - (times[i] as number))).toEqual([2000, 3000, 4500, 6750]);
		// An unwatched lookup is not refused for it either.
		world.fakes.script("unwatched-x", { status: "Processing" });
		expect((await call("GET", "/v1/assets/unwatched-x")).status).toBe(200);
	});
});
