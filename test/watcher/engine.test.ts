// The poll engine inside the asset object, stepped alarm by alarm: the status lookup stays true
// while uneventful checks write nothing but their alarm (after an eviction too); what finished
// assets teach the model is used by registrations a minute later; the upstream budget's turns are
// waited for, its leases spare the asks, and a 429 halves its rate for everyone. (What happens when
// the model or the budget is broken, or a run dies mid-way: test/faults/engine.test.ts.)
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
	assetRow,
	engineHelpers,
	patchMethod,
	registerWatch as register,
	restorePatches,
	type Status,
	statusOf as status,
} from "../support/engine";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();
const { callTimes, finish, firstGap } = engineHelpers(world);
restorePatches();

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

	it("a registration stores its watch alone: the asset is Unknown and due now until its first answer writes its row", {
		timeout: 30_000,
	}, async () => {
		const asset = unique("unanswered");
		world.fakes.script(asset, { status: "Processing", data: { AssetType: "Video" } });
		const registeredAt = world.vclock.t;
		await register(asset);
		const stored = () =>
			runInDurableObject(
				stubOf(asset),
				(_o, s) => s.storage.sql.exec("SELECT * FROM records WHERE id = ''").toArray().length,
			);
		expect(await stored()).toBe(0);
		// Evicted before its first check: the answer it gives still comes from its watch alone.
		await evictDurableObject(stubOf(asset)).catch(() => {});
		const before = await status(asset);
		expect(before).toMatchObject({
			asset_id: asset,
			status: "Unknown",
			watched: true,
			checks: 0,
			checked_at: null,
		});
		expect(Date.parse(before.next_check_at as string)).toBe(registeredAt);
		await step(world.vclock, asset);
		expect(await stored()).toBe(1);
		const after = await status(asset);
		expect(after).toMatchObject({ asset_id: asset, status: "Processing", asset_type: "Video", checks: 1 });
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
});

describe("the upstream budget", () => {
	const budget = () => env.UPSTREAM_BUDGET.getByName("global");

	it("well under it, a check takes a lease and the next ones go without asking", async () => {
		let asks = 0;
		await patchMethod(
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
});
