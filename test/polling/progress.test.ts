// Where an asset's checks stand, derived from the schedule its row stored at its last write, its
// plan and its alarm: for any plan, any sequence of checks made on their slots, waits the plan does
// not know and rows written only when the schedule stopped following from the plan, the derived
// count, last check and next check equal the true ones, whether read from the pending alarm
// (a lookup) or at the start of the run the alarm woke after an eviction.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkAt, MAX_PLAN_POINTS, type Plan } from "../../src/polling/plan";
import {
	type Progress,
	planSlotAfter,
	progressAt,
	progressForRun,
	progressFromAlarm,
	type StoredSchedule,
	skippedSlot,
} from "../../src/polling/progress";

const T0 = 1_800_000_000_000;

const arbPlan: fc.Arbitrary<Plan> = fc
	.record({
		gaps: fc.array(fc.integer({ min: 100, max: 120_000 }), { maxLength: MAX_PLAN_POINTS }),
		tailMs: fc.integer({ min: 100, max: 60_000 }),
	})
	.map(({ gaps, tailMs }) => {
		let at = T0;
		return { rule: "adaptive", basis: "model", anchor: T0, tailMs, times: gaps.map((g) => (at += g)) };
	});

/**
 * One step of an asset's life after its plan was made: a check run a few ms after its slot (as
 * alarms fire; gaps are at least 100 ms), sometimes much later (an outage), or a wait. `wakeMs`:
 * how late the next alarm fires, for the evicted object's derivation.
 */
type Step = { kind: "check"; lateMs: number; wakeMs: number } | { kind: "wait"; forMs: number };
const arbStep: fc.Arbitrary<Step> = fc.oneof(
	{
		weight: 8,
		arbitrary: fc.record({
			kind: fc.constant("check" as const),
			lateMs: fc.integer({ min: 0, max: 30 }),
			wakeMs: fc.integer({ min: 0, max: 30 }),
		}),
	},
	{
		weight: 1,
		arbitrary: fc.record({
			kind: fc.constant("check" as const),
			lateMs: fc.integer({ min: 0, max: 600_000 }),
			wakeMs: fc.integer({ min: 0, max: 30 }),
		}),
	},
	{
		weight: 1,
		arbitrary: fc.record({ kind: fc.constant("wait" as const), forMs: fc.integer({ min: 1, max: 300_000 }) }),
	},
);

describe("derived progress", () => {
	it("equals the true count, last check and next check after any run of checks and waits", () => {
		fc.assert(
			fc.property(arbPlan, fc.array(arbStep, { maxLength: 80 }), (plan, steps) => {
				// The first check (the anchor) wrote the row: one check made, the next at plan check 1.
				let truth: Progress = { checks: 1, checkedAt: T0, nextCheckAt: checkAt(plan, 1) };
				let row: StoredSchedule = { plan, ...truth };
				for (const step of steps) {
					const due = truth.nextCheckAt as number;
					if (step.kind === "wait") {
						// A 429 at its due time: one check made, the next one a wait away; the row is written.
						truth = { checks: truth.checks + 1, checkedAt: due, nextCheckAt: due + step.forMs };
						row = { plan, ...truth };
						continue;
					}
					const at = due + step.lateMs;
					const next = planSlotAfter(plan, at);
					const late = skippedSlot(plan, due, at);
					// Exactly what the asset object does: an on-slot check writes nothing; a late one writes.
					// (The derived last check is its slot's time; a written one is when it was made.)
					truth = { checks: truth.checks + 1, checkedAt: late ? at : due, nextCheckAt: next };
					if (late) row = { plan, ...truth };
					// A lookup reads the pending alarm (the next check); an evicted object's alarm run, the time.
					const fromAlarm = progressFromAlarm(row, next);
					expect(fromAlarm).toEqual(truth);
					expect(progressForRun(row, next + step.wakeMs)).toEqual(truth);
				}
			}),
			{ numRuns: 300 },
		);
	});

	it("reads an alarm before the stored next check as not a check (a delivery or a TTL expiry)", () => {
		const plan: Plan = {
			rule: "backoff",
			basis: "schedule",
			anchor: T0,
			times: [T0 + 2000, T0 + 5000],
			tailMs: 60_000,
		};
		const row: StoredSchedule = { plan, checks: 3, checkedAt: T0 + 2000, nextCheckAt: T0 + 5000 };
		expect(progressFromAlarm(row, T0 + 4000)).toEqual({
			checks: 3,
			checkedAt: T0 + 2000,
			nextCheckAt: T0 + 5000,
		});
		// A run woken before the stored next check finds no check due.
		expect(progressForRun(row, T0 + 4000).nextCheckAt).toBe(T0 + 5000);
		// Without an alarm, or without a plan, the row says all there is.
		expect(progressFromAlarm(row, null)).toEqual(progressAt(row, T0 + 5000));
		expect(progressFromAlarm({ ...row, plan: null }, T0 + 500_000).checks).toBe(3);
	});

	it("counts the checks of the tail too, where the plan repeats every tailMs", () => {
		const plan: Plan = { rule: "fixed", basis: "schedule", anchor: T0, times: [], tailMs: 60_000 };
		const row: StoredSchedule = { plan, checks: 1, checkedAt: T0, nextCheckAt: T0 + 60_000 };
		// Ten checks on the tail later, the alarm is at the eleventh.
		expect(progressFromAlarm(row, T0 + 11 * 60_000)).toEqual({
			checks: 11,
			checkedAt: T0 + 10 * 60_000,
			nextCheckAt: T0 + 11 * 60_000,
		});
	});

	it("a wait the plan does not know counts as one check when it is made, then the plan goes on", () => {
		const plan: Plan = { rule: "backoff", basis: "schedule", anchor: T0, times: [T0 + 2000], tailMs: 10_000 };
		// A 429 at T0+2000 asked for 25 s: the next check at T0+27000, off the plan.
		const row: StoredSchedule = { plan, checks: 2, checkedAt: T0 + 2000, nextCheckAt: T0 + 27_000 };
		const after = planSlotAfter(plan, T0 + 27_000);
		expect(after).toBe(T0 + 32_000);
		expect(progressFromAlarm(row, after)).toEqual({ checks: 3, checkedAt: T0 + 27_000, nextCheckAt: after });
		expect(skippedSlot(plan, T0 + 27_000, T0 + 27_010)).toBe(false);
		expect(skippedSlot(plan, T0 + 27_000, T0 + 32_000)).toBe(true);
	});
});
