// What one upstream check does to the asset, as a pure function of the asset row, where its checks
// stood (src/polling/progress.ts), its plan and the check's outcome: the columns to write in one
// UPDATE, or none at all when the answer changed nothing and the check ran on its plan slot (its
// alarm is then all it writes); where the schedule goes on; the event every watching watch is now
// owed; and what a finished asset teaches its type's model.

import { type EventType, type ExpiryReason, isTerminal, publicStatus, terminalEvent } from "../core/states";
import type { CheckOutcome } from "../crun/classify";
import { durationSample, modelKey } from "../polling/model";
import { locate, type Plan, serializePlan } from "../polling/plan";
import { type Progress, planSlotAfter, skippedSlot } from "../polling/progress";
import { answerEffect, type PollSettings } from "../polling/schedule";
import type { AssetRow } from "./rows";

export interface CheckInput {
	row: AssetRow;
	/** where the checks stood before this one (for a scheduled check, `nextCheckAt` is the one due) */
	progress: Progress;
	/** the stored plan, if any */
	plan: Plan | null;
	/** a plan anchored at this check, made when `wantsPlan` said so */
	newPlan: Plan | null;
	outcome: CheckOutcome;
	/** when the check was made */
	now: number;
	/** a forced refresh, not the schedule's check */
	forced: boolean;
	settings: PollSettings;
	rand: number;
}

export interface CheckPlan {
	/** the asset row's new column values, in one UPDATE; null: nothing to write */
	set: Partial<AssetRow> | null;
	/** where the checks stand after this one */
	progress: Progress;
	/** the event each watching watch is owed now (terminal status, or the watch given up on) */
	notify: { type: EventType; reason: ExpiryReason | null } | null;
	/** a Status string the upstream never documented, to be logged */
	unknownStatus: string | null;
	/** how long the asset took, for its type's model, when this check saw it finish */
	sample: { type: string; ms: number } | null;
}

/**
 * Whether this check's answer needs a plan anchored at it: the first check of a plan-less asset
 * (registered, re-registered, or from before plans), and the first good answer after checks that
 * could not say the asset's type and age (which the adaptive plan is made from).
 */
export function wantsPlan(row: AssetRow, plan: Plan | null, outcome: CheckOutcome): boolean {
	if (isTerminal(row.status)) return false;
	if (outcome.kind === "ok")
		return !isTerminal(outcome.asset.status) && (plan === null || row.status === "Unknown");
	return plan === null;
}

const UPSTREAM_FIELDS = [
	"status",
	"name",
	"asset_type",
	"create_time",
	"update_time",
	"upstream_data",
	"upstream_message",
] as const;

/** The schedule's gap at `now` (a 429 without Retry-After waits twice it, at least POLL_MAX_MS). */
function currentInterval(plan: Plan | null, now: number, s: PollSettings): number {
	if (!plan) return s.initialMs;
	const at = locate(plan, now);
	return at.nextAt - (at.previousAt ?? plan.anchor);
}

export function planCheck(c: CheckInput): CheckPlan {
	const { row: a, outcome, now, settings: s } = c;
	const counted: Progress = { checks: c.progress.checks + 1, checkedAt: now, nextCheckAt: null };
	const schedule = (p: Progress): Partial<AssetRow> => ({
		checks: p.checks,
		checked_at: p.checkedAt,
		next_check_at: p.nextCheckAt,
		updated_at: now,
	});
	// Terminal stays terminal: a later (forced) answer changes nothing but the count.
	if (isTerminal(a.status))
		return { set: schedule(counted), progress: counted, notify: null, unknownStatus: null, sample: null };

	const fields: Partial<AssetRow> = {};
	let lastError: string | null = outcome.kind === "ok" ? null : outcome.error;
	let unknownStatus: string | null = null;
	if (outcome.kind === "ok") {
		const u = outcome.asset;
		const known = publicStatus(u.status) !== "Unknown";
		if (!known) {
			unknownStatus = u.status.slice(0, 40);
			lastError = `unknown upstream status "${unknownStatus}"`;
		}
		const upstream: Pick<AssetRow, (typeof UPSTREAM_FIELDS)[number]> = {
			status: known ? u.status : a.status,
			name: u.name,
			asset_type: u.assetType,
			create_time: u.createTime,
			update_time: u.updateTime,
			upstream_data: JSON.stringify(u.data),
			upstream_message: u.message,
		};
		for (const f of UPSTREAM_FIELDS) if (upstream[f] !== a[f]) Object.assign(fields, { [f]: upstream[f] });
	}
	if (lastError !== a.last_error)
		Object.assign(fields, { last_error: lastError, last_error_at: lastError ? now : a.last_error_at });

	const plan = c.newPlan ?? c.plan;
	if (c.newPlan) fields.plan = serializePlan(c.newPlan);
	const effect = answerEffect(
		{ notFoundCount: a.not_found_count, notFoundSince: a.not_found_since },
		outcome,
		now,
		currentInterval(plan, now, s),
		s,
		c.rand,
	);
	const done = (
		extra: Partial<AssetRow>,
		notify: CheckPlan["notify"],
		sample: CheckPlan["sample"] = null,
	): CheckPlan => ({
		set: { ...fields, ...extra, ...schedule(counted) },
		progress: counted,
		notify,
		unknownStatus,
		sample,
	});

	switch (effect.kind) {
		case "terminal": {
			const u = outcome.kind === "ok" ? outcome.asset : null;
			const ms = u
				? durationSample({
						createTime: u.createTime,
						updateTime: u.updateTime,
						firstCheckAt: plan?.anchor ?? null,
						terminalCheckAt: now,
						lastProcessingAt: a.status === "Processing" ? c.progress.checkedAt : null,
					})
				: null;
			return done(
				{ terminal_at: now },
				{ type: terminalEvent(fields.status ?? a.status) as EventType, reason: null },
				ms === null ? null : { type: modelKey(u?.assetType), ms },
			);
		}
		case "expire":
			return done({ expired_reason: effect.reason }, { type: "watch.expired", reason: effect.reason });
		case "schedule":
		case "wait": {
			if (effect.streak.notFoundCount !== a.not_found_count)
				Object.assign(fields, {
					not_found_count: effect.streak.notFoundCount,
					not_found_since: effect.streak.notFoundSince,
				});
			const due = c.progress.nextCheckAt;
			const onPlan = plan ? planSlotAfter(plan, now) : now + s.initialMs;
			let next: number | null;
			if (c.forced) {
				// A refresh leaves the schedule where it was, unless the upstream asked for a wait.
				next = effect.kind === "wait" && due !== null ? Math.max(due, now + effect.delayMs) : due;
			} else {
				next = effect.kind === "wait" ? now + effect.delayMs : onPlan;
			}
			counted.nextCheckAt = next;
			// The count follows from the plan only for a check made in its own slot and followed by the next one.
			const derivable =
				!c.forced &&
				effect.kind === "schedule" &&
				plan !== null &&
				due !== null &&
				!skippedSlot(plan, due, now);
			if (derivable && Object.keys(fields).length === 0)
				return { set: null, progress: counted, notify: null, unknownStatus, sample: null };
			return done({}, null);
		}
	}
}
