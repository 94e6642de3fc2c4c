// What one upstream check does to the asset, as a pure function of the asset row and the check's
// outcome: the columns to write (one UPDATE), and the event every watching watch is now owed, if
// any. The poll schedule itself (when to ask next) is `planNextCheck` in src/polling/schedule.ts.

import { type EventType, type ExpiryReason, isTerminal, publicStatus, terminalEvent } from "../core/states";
import type { CheckOutcome } from "../crun/classify";
import { type PollSettings, planNextCheck } from "../polling/schedule";
import type { AssetRow } from "./rows";

export interface CheckPlan {
	/** the asset row's new column values */
	set: Partial<AssetRow>;
	/** the event each watching watch is owed now (terminal status, or the watch given up on) */
	notify: { type: EventType; reason: ExpiryReason | null } | null;
	/** a Status string the upstream never documented, to be logged */
	unknownStatus: string | null;
}

export function planCheck(
	a: AssetRow,
	outcome: CheckOutcome,
	now: number,
	settings: PollSettings,
	rand: number,
): CheckPlan {
	const counted: Partial<AssetRow> = { checks: a.checks + 1, checked_at: now, updated_at: now };
	// Terminal stays terminal: a later answer (even "Processing") changes nothing.
	if (isTerminal(a.status))
		return { set: { ...counted, next_check_at: null }, notify: null, unknownStatus: null };

	const set: Partial<AssetRow> = { ...counted };
	let lastError: string | null = outcome.kind === "ok" ? null : outcome.error;
	let unknownStatus: string | null = null;
	if (outcome.kind === "ok") {
		const u = outcome.asset;
		const known = publicStatus(u.status) !== "Unknown";
		if (!known) {
			unknownStatus = u.status.slice(0, 40);
			lastError = `unknown upstream status "${unknownStatus}"`;
		}
		Object.assign(set, {
			status: known ? u.status : a.status,
			name: u.name,
			asset_type: u.assetType,
			create_time: u.createTime,
			update_time: u.updateTime,
			upstream_data: JSON.stringify(u.data),
			upstream_message: u.message,
		});
	}
	set.last_error = lastError;
	set.last_error_at = lastError ? now : a.last_error_at;

	const plan = planNextCheck(
		{ step: a.poll_step, notFoundCount: a.not_found_count, notFoundSince: a.not_found_since },
		outcome,
		now,
		settings,
		rand,
	);
	switch (plan.kind) {
		case "again":
			Object.assign(set, {
				next_check_at: now + plan.delayMs,
				poll_step: plan.state.step,
				not_found_count: plan.state.notFoundCount,
				not_found_since: plan.state.notFoundSince,
			});
			return { set, notify: null, unknownStatus };
		case "terminal":
			Object.assign(set, { terminal_at: now, next_check_at: null });
			return {
				set,
				notify: { type: terminalEvent(set.status as string) as EventType, reason: null },
				unknownStatus,
			};
		case "expire":
			Object.assign(set, { expired_reason: plan.reason, next_check_at: null });
			return { set, notify: { type: "watch.expired", reason: plan.reason }, unknownStatus };
	}
}
