// The asset object's check flow: where its checks stand (in memory while the object lives, derived
// from the stored schedule, its plan and the alarm after an eviction: src/polling/progress.ts),
// the one check in flight, the upstream budget's permit before a call and the error report after
// it, the plan made at the first good answer (from its type's model), and the sample a finished
// asset owes the model. What an answer means is `planCheck` (check-plan.ts). The rule that keeps
// the derived schedule exact: the asset row's schedule is written whenever the schedule stops
// following from the plan (an eventful answer, a wait, a late check) and whenever the alarm is set
// to anything but the next check while polling (`settle`). The alarm set first in each run is the
// next check after the one due: a run that dies mid-check is checked again then.

import { clock } from "../core/clock";
import type { Config } from "../core/config";
import { logEvent } from "../core/log";
import { isTerminal, publicStatus } from "../core/states";
import { type CheckOutcome, errorCode } from "../crun/classify";
import { checkAsset, crunSettings } from "../crun/client";
import { modelSnapshots, typeSnapshot } from "../poll-model/snapshots";
import { isUsable, modelKey, type TypeSnapshot } from "../polling/model";
import { locate, type Plan, parsePlan } from "../polling/plan";
import {
	type Progress,
	planSlotAfter,
	progressForRun,
	progressFromAlarm,
	type StoredSchedule,
} from "../polling/progress";
import type { PollSettings } from "../polling/schedule";
import { type Dice, planBackoff, planChecks } from "../polling/strategies";
import { Permits } from "../upstream-budget/permits";
import { LEASE_MS } from "../upstream-budget/policy";
import { planCheck, wantsPlan } from "./check-plan";
import type { AssetRow } from "./rows";
import type { AssetStore } from "./store";

/** A check that could not be made because the budget has no slot soon enough (interactive calls). */
export type Busy = { kind: "busy"; retryAfterMs: number };

export interface CheckHooks {
	/** the asset's public status changed (the index shows it) */
	statusChanged(): void;
}

const pollSettings = (c: Config): PollSettings => ({
	initialMs: c.POLL_INITIAL_MS,
	maxMs: c.POLL_MAX_MS,
	backoff: c.POLL_BACKOFF,
});

/**
 * The model key of the type this isolate's last first check turned out to be. A plan-less first
 * check leases where a learned type's plan would put its next check: this one's when it is learned,
 * else the one with the most samples (nothing learned: the backoff's first gap). When the answer is
 * of that type its plan lands on the lease and writes no second alarm; a wrong guess costs that
 * one alarm write, as every first run paid before.
 */
let lastFirstType: string | null = null;

/** The dice of a first plan: its first gap (and a plan without times, its tail) from the lease's draw. */
const firstDice =
	(u: number): Dice =>
	(slot) =>
		slot === 0 || slot === "tail" ? u : clock.random();

export class CheckFlow {
	/** where the checks stand; null until read or derived in this instance */
	private progress: Progress | null = null;
	private inFlight: Promise<CheckOutcome | Busy> | null = null;
	private parsed: { text: string | null; plan: Plan | null } = { text: null, plan: null };
	/** what the last finished check owes the model, sent by the alarm */
	private sample: { type: string; ms: number } | null = null;
	/**
	 * A plan-less check's lease: the run's start and the draw of its first gap, which the plan made
	 * from its answer reuses (the backoff's first check then lands on the lease: one alarm write).
	 */
	private firstGap: { at: number; u: number } | null = null;
	readonly permits: Permits;

	constructor(
		private readonly env: Env,
		private readonly storage: DurableObjectStorage,
		private readonly store: AssetStore,
		private readonly config: () => Config,
		private readonly hooks: CheckHooks,
	) {
		this.permits = new Permits(env);
	}

	private plan(a: AssetRow): Plan | null {
		if (this.parsed.text !== a.plan) this.parsed = { text: a.plan, plan: parsePlan(a.plan) };
		return this.parsed.plan;
	}

	private stored(a: AssetRow): StoredSchedule {
		return { plan: this.plan(a), checks: a.checks, checkedAt: a.checked_at, nextCheckAt: a.next_check_at };
	}

	/** Forgets what memory holds: the row's schedule was rewritten from outside the flow. */
	forget(): void {
		this.progress = null;
		this.sample = null;
	}

	/**
	 * Outside the alarm handler: where the checks stand, from memory or from the pending alarm. Only
	 * a polling asset's checks move without the row (polling stops only with its count written).
	 */
	async current(a: AssetRow): Promise<Progress> {
		if (this.progress) return this.progress;
		if (!this.store.isPolling(a)) return progressFromAlarm(this.stored(a), null);
		const alarm = await this.storage.getAlarm();
		this.progress ??= progressFromAlarm(this.stored(a), alarm);
		return this.progress;
	}

	/** At the start of an alarm run (the alarm that fired cannot be read): from memory or derived. */
	forRun(a: AssetRow, now: number): Progress {
		if (!this.progress && !this.store.isPolling(a)) return progressFromAlarm(this.stored(a), null);
		this.progress ??= progressForRun(this.stored(a), now);
		return this.progress;
	}

	/** A check is in flight (its answer may change the status at any moment). */
	checking(): boolean {
		return this.inFlight !== null;
	}

	/** The next check (null when none is known yet in this instance). */
	nextCheck(): number | null {
		return this.progress?.nextCheckAt ?? null;
	}

	/** The lease a run sets first: the next check after the one due now, or the next check. */
	async leaseFor(a: AssetRow, now: number): Promise<number | null> {
		const p = this.forRun(a, now);
		if (p.nextCheckAt === null || p.nextCheckAt > now) return p.nextCheckAt;
		const plan = this.plan(a);
		if (plan) return planSlotAfter(plan, now);
		this.firstGap = { at: now, u: clock.random() };
		return planSlotAfter(await this.likelyFirstPlan(a, now, this.firstGap.u), now);
	}

	/**
	 * The plan a plan-less check at `now` will most likely get from its answer (`lastFirstType`), for
	 * an asset just created. Its snapshots are the ones the answer's plan reads (cached per isolate):
	 * no call of its own.
	 */
	private async likelyFirstPlan(a: AssetRow, now: number, u: number): Promise<Plan> {
		const c = this.config();
		const all = c.POLL_STRATEGY === "adaptive" ? ((await modelSnapshots(this.env))?.types ?? []) : [];
		const types = all.filter(isUsable);
		const best = types.reduce<TypeSnapshot | null>((b, t) => (b && b.samples >= t.samples ? b : t), null);
		return planChecks({
			strategy: c.POLL_STRATEGY,
			assetId: a.asset_id,
			anchor: now,
			ageMs: 0,
			model: types.find((t) => t.type === lastFirstType) ?? best,
			settings: pollSettings(c),
			dice: firstDice(u),
		});
	}

	/**
	 * Keeps the stored schedule able to say where the checks are: written (one UPDATE) when the
	 * alarm is about to be set to anything but the check it would be for while polling (`check`:
	 * the next check, or at the start of a run the lease after the check due), or polling stopped
	 * with checks the row does not count yet. Nothing to write in the usual case.
	 */
	settle(a: AssetRow, polling: boolean, alarm: number | null, check = this.progress?.nextCheckAt): void {
		const p = this.progress;
		if (!p) return;
		const stale = polling ? alarm !== check && a.next_check_at !== p.nextCheckAt : a.checks !== p.checks;
		if (!stale) return;
		this.store.updateAsset({ checks: p.checks, checked_at: p.checkedAt, next_check_at: p.nextCheckAt });
	}

	/** Calls per second the plan makes over the next open lease (what the budget counts for it). */
	private plannedRps(a: AssetRow, now: number): number {
		const plan = this.plan(a) ?? planBackoff(a.asset_id, now, pollSettings(this.config()));
		const made = locate(plan, now + LEASE_MS).index - locate(plan, now).index;
		return Math.max(0, made) / (LEASE_MS / 1000);
	}

	/** The alarm's check, when one is due: the budget's permit, then the check (or a wait for a slot). */
	async runDue(now: number): Promise<void> {
		if (this.inFlight) {
			await this.inFlight;
			return;
		}
		const a = this.store.asset();
		if (!a || !this.store.isPolling(a)) return;
		const due = this.forRun(a, now).nextCheckAt;
		if (due === null || due > now) return;
		const permit = await this.permits.forCheck(a.asset_id, due, this.plannedRps(a, now));
		if (permit.kind === "wait") {
			// A wait the plan does not know: the schedule is written with it (the alarm follows in arm()).
			const p = { ...(this.progress as Progress), nextCheckAt: permit.until };
			this.progress = p;
			this.store.updateAsset({ checks: p.checks, checked_at: p.checkedAt, next_check_at: p.nextCheckAt });
			return;
		}
		await this.check(false);
	}

	/** One upstream check, shared by the alarm and forced refreshes (a second caller joins the first). */
	check(forced: boolean): Promise<CheckOutcome | Busy> {
		if (!this.inFlight) {
			this.inFlight = this.run(forced).finally(() => {
				this.inFlight = null;
			});
		}
		return this.inFlight;
	}

	private async run(forced: boolean): Promise<CheckOutcome | Busy> {
		const a = this.store.asset() as AssetRow;
		if (forced) {
			const permit = await this.permits.forLookup(`refresh:${a.asset_id}`);
			if (permit.kind === "wait") return { kind: "busy", retryAfterMs: permit.until - clock.now() };
		}
		const progress = forced ? await this.current(a) : (this.progress as Progress);
		const calledAt = clock.now();
		const crun = crunSettings(this.config());
		const outcome: CheckOutcome = crun
			? await checkAsset(crun, a.asset_id)
			: { kind: "operator", code: 401, error: "CRUN_API_KEY is not configured" };
		const fresh = this.store.asset() as AssetRow;
		// A scheduled first check anchors its plan where its run began (where its lease counts from).
		const first = forced ? null : this.firstGap;
		const anchor = first?.at ?? calledAt;
		const newPlan = wantsPlan(fresh, this.plan(fresh), outcome)
			? await this.newPlan(fresh, outcome, anchor)
			: null;
		if (newPlan && first && outcome.kind === "ok") lastFirstType = modelKey(outcome.asset.assetType);
		this.apply(outcome, forced ? await this.current(fresh) : progress, newPlan, calledAt, forced);
		// After the answer is stored: an error is eventful anyway, and the budget must not hold it up.
		const code = crun ? errorCode(outcome) : null;
		if (code !== null) await this.permits.report(a.asset_id, code, calledAt);
		return outcome;
	}

	/** A plan anchored at this check: the adaptive one from the type's model, or the backoff. */
	private async newPlan(a: AssetRow, outcome: CheckOutcome, at: number): Promise<Plan> {
		const c = this.config();
		const first = this.firstGap?.at === at ? this.firstGap : null;
		this.firstGap = null;
		const u = outcome.kind === "ok" ? outcome.asset : null;
		const model =
			c.POLL_STRATEGY === "adaptive" && u ? await typeSnapshot(this.env, modelKey(u.assetType)) : null;
		const created = u?.createTime ? Date.parse(u.createTime) : Number.NaN;
		return planChecks({
			strategy: c.POLL_STRATEGY,
			assetId: a.asset_id,
			anchor: at,
			ageMs: Number.isFinite(created) && created <= at ? at - created : null,
			model,
			settings: pollSettings(c),
			dice: first ? firstDice(first.u) : () => clock.random(),
		});
	}

	private apply(
		outcome: CheckOutcome,
		progress: Progress,
		newPlan: Plan | null,
		at: number,
		forced: boolean,
	): void {
		const a = this.store.asset() as AssetRow;
		const result = planCheck({
			row: a,
			progress,
			plan: this.plan(a),
			newPlan: wantsPlan(a, this.plan(a), outcome) ? newPlan : null,
			outcome,
			now: at,
			forced,
			settings: pollSettings(this.config()),
			rand: clock.random(),
		});
		if (result.unknownStatus !== null)
			logEvent("warn", "unknown upstream status", { asset_id: a.asset_id, status: result.unknownStatus });
		if (result.set?.status !== undefined && publicStatus(result.set.status) !== publicStatus(a.status))
			this.hooks.statusChanged();
		const notify = result.notify;
		this.store.transaction(() => {
			if (result.set) this.store.updateAsset(result.set);
			if (!notify) return;
			const fresh = this.store.asset() as AssetRow;
			// A terminal event is sent before it is stored (src/watcher/unsaved-events.ts).
			const unsaved = isTerminal(fresh.status);
			for (const w of this.store.watching())
				this.store.openEvent(w, { type: notify.type, at, reason: notify.reason }, fresh, at, unsaved);
		});
		this.progress = result.progress;
		if (result.sample) this.sample = result.sample;
	}

	/** The sample the last finished check owes the model, once (the caller sends it). */
	takeSample(): { type: string; ms: number } | null {
		const s = this.sample;
		this.sample = null;
		return s;
	}
}

/**
 * An asset-info call outside the schedule (an unwatched lookup): it waits for the budget like a
 * refresh, and its error code is reported without holding up the answer.
 */
export function budgetedCall(
	permits: Permits,
	config: Config,
): ((assetId: string) => Promise<CheckOutcome | Busy>) | null {
	const crun = crunSettings(config);
	if (!crun) return null;
	return async (assetId) => {
		const permit = await permits.forLookup(`lookup:${assetId}`);
		if (permit.kind === "wait") return { kind: "busy", retryAfterMs: permit.until - clock.now() };
		const calledAt = clock.now();
		const outcome = await checkAsset(crun, assetId);
		const code = errorCode(outcome);
		if (code !== null) void permits.report(`lookup:${assetId}`, code, calledAt);
		return outcome;
	};
}
