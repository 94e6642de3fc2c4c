// Where an asset's checks stand, derived instead of stored: the asset row keeps its schedule as of
// its last write (count, last check, next check) beside the plan, and every check made on the plan
// since then follows from the plan and from where the next check is (the pending alarm, or the
// alarm that fired). So an uneventful check on its plan slot writes nothing but its alarm. Pure;
// docs/polling.md ("How an asset object uses it") states the rule that keeps this exact.

import { firstCheckFrom, locate, type Plan } from "./plan.ts";

/** The schedule as the asset row stored it at its last write. */
export type StoredSchedule = {
	plan: Plan | null;
	/** checks made up to that write */
	checks: number;
	/** when the last of them was made */
	checkedAt: number | null;
	/** the next check as of that write: a plan time, or a wait the plan does not know (N0) */
	nextCheckAt: number | null;
};

/** What the status lookup shows: checks made, the last one, the next one. */
export type Progress = { checks: number; checkedAt: number | null; nextCheckAt: number | null };

const asStored = (s: StoredSchedule): Progress => ({
	checks: s.checks,
	checkedAt: s.checkedAt,
	nextCheckAt: s.nextCheckAt,
});

/**
 * The progress when the first check not yet made is at `next`: the stored next check was made,
 * and so was every plan check strictly between it and `next`, each at its plan time.
 */
export function progressAt(s: StoredSchedule, next: number): Progress {
	const n0 = s.nextCheckAt;
	if (s.plan === null || n0 === null || next <= n0) return asStored(s);
	const before = locate(s.plan, next - 1);
	const made = 1 + before.index - locate(s.plan, n0).index;
	return {
		checks: s.checks + made,
		checkedAt: Math.max(n0, before.previousAt ?? n0),
		nextCheckAt: next,
	};
}

/**
 * Outside the alarm handler: progress from the pending alarm. An alarm before the stored next
 * check is not a check (a delivery, a TTL expiry); one at or after it is the next check, a plan time.
 */
export function progressFromAlarm(s: StoredSchedule, alarm: number | null): Progress {
	if (s.plan === null || s.nextCheckAt === null || alarm === null || alarm <= s.nextCheckAt)
		return asStored(s);
	return progressAt(s, firstCheckFrom(s.plan, alarm)[1]);
}

/**
 * In an alarm run that remembers nothing (the object was evicted): the alarm that fired was the
 * next check when the stored next check is due by `now` (then the check due is the latest
 * scheduled one by now), and something else otherwise (the object writes its schedule whenever it
 * sets its alarm to anything but its next check, so this is never ambiguous).
 */
export function progressForRun(s: StoredSchedule, now: number): Progress {
	const n0 = s.nextCheckAt;
	if (s.plan === null || n0 === null || now <= n0) return asStored(s);
	return progressAt(s, Math.max(n0, locate(s.plan, now).previousAt ?? n0));
}

/** The first plan check strictly after `t` (where the schedule goes on after a check at `t`). */
export function planSlotAfter(plan: Plan, t: number): number {
	return locate(plan, t).nextAt;
}

/**
 * A check due at `due` made at `at` skipped a plan slot: a plan time fell in (due, at]. Its count
 * no longer follows from the plan, so it is written.
 */
export function skippedSlot(plan: Plan, due: number, at: number): boolean {
	return locate(plan, due).nextAt <= at;
}
