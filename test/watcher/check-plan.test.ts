// What one check writes, as the pure planner decides it: nothing for an answer that changes
// nothing and ran on its plan slot; one UPDATE of what changed (with where the checks stand) for
// anything else: a changed field, an error, a wait, a late check, a new plan, a forced refresh, the
// end. And the sample a finished asset teaches its type's model.
import { describe, expect, it } from "vitest";
import type { CheckOutcome } from "../../src/crun/classify";
import { checkAt, type Plan, parsePlan } from "../../src/polling/plan";
import { type CheckInput, planCheck, wantsPlan } from "../../src/watcher/check-plan";
import { type AssetRow, unansweredAsset } from "../../src/watcher/rows";

const T0 = 1_800_000_000_000;
const S = { initialMs: 2000, maxMs: 60_000, backoff: 1.5 };
const plan: Plan = {
	rule: "backoff",
	basis: "schedule",
	anchor: T0,
	times: [T0 + 2000, T0 + 5000, T0 + 9500],
	tailMs: 60_000,
};
const data = {
	AssetId: "a1",
	Name: "clip",
	AssetType: "Video",
	Status: "Processing",
	// Created a minute before the first check.
	CreateTime: new Date(T0 - 60_000).toISOString(),
	UpdateTime: new Date(T0 - 60_000).toISOString(),
};
const createdPlus = (ms: number) => new Date(T0 - 60_000 + ms).toISOString();
const processing = (over: Partial<typeof data> = {}): CheckOutcome => {
	const d = { ...data, ...over };
	return {
		kind: "ok",
		asset: {
			status: d.Status,
			name: d.Name,
			assetType: d.AssetType,
			createTime: d.CreateTime,
			updateTime: d.UpdateTime,
			data: d,
			message: "success",
		},
	};
};
/** The row as the first check (the plan's anchor) left it. */
const row: AssetRow = {
	...unansweredAsset("a1", T0 - 100),
	status: "Processing",
	name: "clip",
	asset_type: "Video",
	create_time: data.CreateTime,
	update_time: data.UpdateTime,
	upstream_data: JSON.stringify(data),
	upstream_message: "success",
	checked_at: T0,
	next_check_at: T0 + 2000,
	checks: 1,
	updated_at: T0,
	plan: JSON.stringify({}),
};
/** The check due at plan check 2, two checks in (the one at plan check 1 wrote nothing). */
const input = (over: Partial<CheckInput> = {}): CheckInput => ({
	row,
	progress: { checks: 2, checkedAt: T0 + 2000, nextCheckAt: T0 + 5000 },
	plan,
	newPlan: null,
	outcome: processing(),
	now: T0 + 5003,
	forced: false,
	settings: S,
	rand: 0.5,
	...over,
});

describe("a check on its plan slot", () => {
	it("that changes nothing writes nothing, and the schedule goes on to the next slot", () => {
		const p = planCheck(input());
		expect(p.set).toBeNull();
		expect(p.progress).toEqual({ checks: 3, checkedAt: T0 + 5003, nextCheckAt: T0 + 9500 });
		expect(p.notify).toBeNull();
	});

	it("that repeats the same error writes nothing either (the error is already stored)", () => {
		const error = { kind: "transient", error: "upstream 500: boom", code: "500" } as const;
		expect(planCheck(input({ outcome: error })).set).not.toBeNull();
		const p = planCheck(input({ row: { ...row, last_error: error.error }, outcome: error }));
		expect(p.set).toBeNull();
		expect(p.progress.nextCheckAt).toBe(T0 + 9500);
	});

	it("that changes one upstream field writes that field and where the checks stand, in one UPDATE", () => {
		const p = planCheck(input({ outcome: processing({ UpdateTime: createdPlus(60_000) }) }));
		expect(p.set).toEqual({
			update_time: createdPlus(60_000),
			upstream_data: expect.stringContaining(createdPlus(60_000)),
			checks: 3,
			checked_at: T0 + 5003,
			next_check_at: T0 + 9500,
			updated_at: T0 + 5003,
		});
	});

	it("that clears an error, or ends a 404 streak, writes it", () => {
		expect(planCheck(input({ row: { ...row, last_error: "upstream 500" } })).set).toMatchObject({
			last_error: null,
		});
		expect(planCheck(input({ row: { ...row, not_found_count: 1, not_found_since: T0 } })).set).toMatchObject({
			not_found_count: 0,
			not_found_since: null,
		});
	});
});

describe("a check off its plan", () => {
	it("made after the next slot had passed writes where the checks stand (its count no longer follows)", () => {
		const p = planCheck(input({ now: T0 + 9600 }));
		expect(p.set).toEqual({
			checks: 3,
			checked_at: T0 + 9600,
			next_check_at: T0 + 69_500,
			updated_at: T0 + 9600,
		});
	});

	it("answered 429 waits as SPEC §5 says and writes the wait", () => {
		const limited: CheckOutcome = {
			kind: "rate_limited",
			error: "upstream 429",
			retryAfterMs: 30_000,
			code: "429",
		};
		const p = planCheck(input({ outcome: limited, rand: 0 }));
		expect(p.progress.nextCheckAt).toBe(T0 + 5003 + 30_000);
		expect(p.set).toMatchObject({ next_check_at: T0 + 35_003, last_error: "upstream 429" });
	});

	it("forced (a refresh) is written and leaves the scheduled check where it was", () => {
		const p = planCheck(input({ forced: true, now: T0 + 3000 }));
		expect(p.set).toMatchObject({ checks: 3, checked_at: T0 + 3000, next_check_at: T0 + 5000 });
	});

	it("anchoring a new plan stores it, and the schedule follows it", () => {
		const fresh: Plan = { ...plan, anchor: T0 + 5003, times: [T0 + 6003], tailMs: 1000 };
		const p = planCheck(input({ newPlan: fresh }));
		expect(parsePlan(p.set?.plan)).toEqual(fresh);
		expect(p.progress.nextCheckAt).toBe(checkAt(fresh, 1));
	});
});

describe("the end", () => {
	it("Active opens the event, stops the schedule and teaches the type's model UpdateTime − CreateTime", () => {
		const p = planCheck(
			input({ outcome: processing({ Status: "Active", UpdateTime: createdPlus(64_000) }) }),
		);
		expect(p.notify).toEqual({ type: "asset.active", reason: null });
		expect(p.set).toMatchObject({ status: "Active", terminal_at: T0 + 5003, next_check_at: null });
		expect(p.sample).toEqual({ type: "Video", ms: 64_000 });
	});

	it("a forced check of a terminal asset counts, and changes nothing else", () => {
		const p = planCheck(input({ row: { ...row, status: "Failed" }, forced: true, outcome: processing() }));
		expect(Object.keys(p.set ?? {}).sort()).toEqual(["checked_at", "checks", "next_check_at", "updated_at"]);
		expect(p.notify).toBeNull();
	});
});

describe("when a check anchors a plan", () => {
	it("the first check of an asset without one, and the first good answer after checks that could not tell its type", () => {
		const unknown = { ...row, status: "Unknown" };
		expect(wantsPlan(unknown, null, { kind: "transient", error: "x" })).toBe(true);
		expect(wantsPlan(unknown, plan, processing())).toBe(true);
		expect(wantsPlan(row, plan, processing())).toBe(false);
		expect(wantsPlan(unknown, null, processing({ Status: "Active" }))).toBe(false);
	});
});
