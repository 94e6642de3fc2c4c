// Faults of the poll engine, each ending with the checks going on and the status telling the
// truth: a run that dies mid-check, or after an uneventful check it never wrote (between the
// derived schedule and the end of its run); a poll model that is corrupt or unreachable (plans use
// the backoff); an upstream budget that is unreachable (checks go on at their plan's times,
// unmetered; lookups are answered).
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { forgetSnapshots } from "../../src/poll-model/snapshots";
import {
	assetRow,
	engineHelpers,
	patchMethod,
	refuseCalls,
	registerWatch as register,
	restorePatches,
	statusOf as status,
} from "../support/engine";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, dieDuringAlarm, step, stubOf } from "../support/steps";

const world = useFakeWorld();
const { gaps, finish, firstGap } = engineHelpers(world);
restorePatches();
const ns = (binding: "POLL_MODEL" | "UPSTREAM_BUDGET" | "WATCH_INDEX") =>
	env[binding] as unknown as DurableObjectNamespace;

describe("a run that dies", () => {
	it("mid-check: the check is made again at the next plan time, and the status counts what was made", async () => {
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
		await dieDuringAlarm(world.vclock, stubOf(asset), () => world.fakes.callsFor(asset) === 3);
		// The alarm set first in that run is the next plan time, not a lease 40 s away.
		expect(((await alarmAt(asset)) as number) - world.vclock.t).toBeLessThanOrEqual(10_000);
		await step(world.vclock, asset);
		const s = await status(asset);
		expect(s.checks).toBe(world.fakes.callsFor(asset));
		expect(s).toMatchObject({ status: "Processing", last_error: null });
		expect(gaps(asset).at(-1)).toBeLessThanOrEqual(10_000);
	});

	it("after an uneventful check it never wrote, before its end: the alarm it set first already says where it is", async () => {
		const asset = unique("half");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		for (let i = 0; i < 4; i++) await step(world.vclock, asset);
		// The index is owed a push (an earlier one failed), and this time the push hangs: the run
		// dies after its check (which wrote nothing) and before it ended.
		await runInDurableObject(stubOf(asset), (_o, s) =>
			s.storage.sql.exec("UPDATE records SET index_pending = 1 WHERE id = ''"),
		);
		let pushes = 0;
		await patchMethod(ns("WATCH_INDEX"), "sync", () => () => {
			pushes++;
			return new Promise(() => {});
		});
		await dieDuringAlarm(world.vclock, stubOf(asset), () => pushes > 0);
		expect(world.fakes.callsFor(asset)).toBe(5);
		// Nothing of the fifth check is in the row; the status is derived from the plan and the alarm.
		expect((await assetRow(asset)).checks).toBe(1);
		const s = await status(asset);
		expect(s.checks).toBe(5);
		expect(Date.parse(s.next_check_at as string)).toBe(await alarmAt(asset));
		expect(gaps(asset)).toEqual([2000, 3000, 4500, 6750]);
	});
});

// Each of these finishes some 25 assets, one alarm run each.
describe("the poll model", { timeout: 30_000 }, () => {
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
		const after = await json<{
			upstream: { model: { type: string; samples: number }[]; model_problems: { type: string }[] };
		}>(await call("GET", "/v1/stats"));
		expect(after.upstream.model.find((m) => m.type === type)?.samples).toBe(1);
		expect(after.upstream.model_problems.map((p) => p.type)).not.toContain(type);
	});

	it("unreachable (or missing), it counts as none: the backoff, and the checks go on", async () => {
		refuseCalls("POLL_MODEL", "snapshots", "model object unreachable");
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		forgetSnapshots();
		const asset = unique("gone");
		world.fakes.script(asset, { status: "Processing", data: { AssetType: unique("Gone") } });
		await register(asset);
		for (let i = 0; i < 4; i++) await step(world.vclock, asset);
		expect(gaps(asset)).toEqual([2000, 3000, 4500]);
		// The stats say so instead of failing.
		const stats = await call("GET", "/v1/stats");
		expect(stats.status).toBe(200);
		expect((await json<{ upstream: { model: unknown[] } }>(stats)).upstream.model).toEqual([]);
		expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual({
			msg: "poll model unreadable; plans use the backoff",
			error: "model object unreachable",
		});
		warn.mockRestore();
	});
});

describe("the upstream budget", () => {
	it("unreachable, the checks go on at their times, unmetered, and lookups are answered", async () => {
		refuseCalls("UPSTREAM_BUDGET", "acquire", "budget object unreachable");
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const asset = unique("unmetered");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		for (let i = 0; i < 5; i++) await step(world.vclock, asset);
		expect(gaps(asset)).toEqual([2000, 3000, 4500, 6750]);
		expect((await status(asset)).checks).toBe(5);
		world.fakes.script("unwatched-x", { status: "Processing" });
		expect((await call("GET", "/v1/assets/unwatched-x")).status).toBe(200);
		expect((await call("GET", `/v1/assets/${asset}?refresh=true`)).status).toBe(200);
		expect(warn.mock.calls.map(([line]) => JSON.parse(String(line)))).toContainEqual({
			msg: "upstream budget unreachable; the call goes unmetered",
			error: "budget object unreachable",
		});
		warn.mockRestore();
	});
});
