// Status lookups. Of an asset nobody watches: one upstream check answers every lookup that arrives
// within LOOKUP_CACHE_MS (they share the promise), and nothing is written, so an unwatched asset
// leaves no state behind; a failed check is not kept, so the next lookup may try again (the call itself is the
// caller's and draws on the upstream budget: check-flow.ts). Of a
// watched asset: from storage, after a forced check when asked (rate-limited per asset), after a
// wait for the status to settle when asked (`Prefer: wait`), saying until when the answer holds.

import { clock } from "../core/clock";
import { publicStatus } from "../core/states";
import type { CheckOutcome } from "../crun/classify";
import type { Progress } from "../polling/progress";
import type { Busy } from "./check-flow";
import { type Failure, fail, ok, type Result } from "./result";
import type { AssetRow } from "./rows";
import type { StatusWaiters } from "./status-waiters";
import type { AssetStore } from "./store";
import { type AssetView, assetView } from "./views";

/** `?refresh=true` forces at most one upstream check per asset per this long. */
export const FORCED_CHECK_INTERVAL_MS = 5_000;

/** Unwatched lookups are answered from memory for this long, however many arrive. */
export const LOOKUP_CACHE_MS = 5_000;

/**
 * A lookup's answer. `holdsUntil` (watched, non-terminal answers): nothing can change the answer
 * before then, so the edge may serve it until then; null when it may change at any moment.
 */
export type LookupAnswer =
	| {
			found: true;
			view: AssetView;
			holdsUntil?: number | null;
			/** a `wait` was asked for and honoured: the asset is watched and there was room to wait */
			waitApplied?: boolean;
	  }
	| { found: false };

/** What a watched lookup needs of the asset's object. */
export interface WatchedAsset {
	store: AssetStore;
	waiters: StatusWaiters;
	/** a check is in flight (its answer may change the status at any moment) */
	checking(): boolean;
	/** where the checks stand (derived from the plan and the alarm while nothing is written) */
	progress(a: AssetRow): Promise<Progress>;
	/** one forced upstream check, the deliveries it makes due, and the re-arm; a failure when the budget had no slot */
	forceCheck(): Promise<Failure | null>;
}

/**
 * A watched asset's status: after a forced check when `refresh` (at most one per asset per
 * FORCED_CHECK_INTERVAL_MS), after waiting up to `waitMs` for a check to end polling when asked.
 */
export async function lookupWatched(
	o: WatchedAsset,
	a: AssetRow,
	{ refresh, waitMs }: { refresh: boolean; waitMs: number },
	now: number,
): Promise<Result<LookupAnswer>> {
	if (refresh) {
		const wait = (a.last_forced_check_at ?? Number.NEGATIVE_INFINITY) + FORCED_CHECK_INTERVAL_MS - now;
		if (wait > 0) return fail(429, "rate_limited", "this asset was refreshed moments ago", wait / 1000);
		o.store.updateAsset({ last_forced_check_at: now });
		const busy = await o.forceCheck();
		if (busy) return busy;
	}
	let waitApplied = false;
	if (waitMs > 0) {
		// Nothing to wait for once polling ended (terminal, or given up): then the answer is at once.
		const waiting = o.store.isPolling(o.store.asset() as AssetRow)
			? o.waiters.wait(waitMs, clock.sleep)
			: undefined;
		waitApplied = waiting !== null;
		if (waiting) await waiting;
	}
	// A purge cannot come while a watch is live, but storage is read again after the wait anyway.
	const fresh = o.store.asset();
	if (!fresh) return ok({ found: false });
	const polling = o.store.isPolling(fresh);
	const progress = await o.progress(fresh);
	// Nothing changes the status before the next check, except a check already in flight.
	const holdsUntil = polling && !o.checking() ? progress.nextCheckAt : null;
	return ok({
		found: true,
		view: assetView(fresh, o.store.isWatched(), polling, progress),
		holdsUntil,
		waitApplied,
	});
}

/** One asset-info call, or why none was made (the budget had no slot soon enough). */
export type UpstreamCall = (assetId: string) => Promise<CheckOutcome | Busy>;

/** The answer when the budget had no slot within a lookup's wait. */
export const upstreamBusy = (b: Busy) =>
	fail(
		503,
		"upstream_busy",
		"the service's upstream budget is spent just now; try again shortly",
		Math.max(1, Math.ceil(b.retryAfterMs / 1000)),
	);

export class UnwatchedLookups {
	private cached: { at: number; answer: Promise<Result<LookupAnswer>> } | null = null;

	/** The coalesced answer for `assetId` at `now`; `refresh` within the cache window is refused. */
	lookup(
		assetId: string,
		refresh: boolean,
		now: number,
		upstream: () => UpstreamCall | null,
		checkedAt: () => number,
	): Promise<Result<LookupAnswer>> {
		const cached = this.cached;
		if (cached && now - cached.at < LOOKUP_CACHE_MS) {
			if (refresh)
				return Promise.resolve(
					fail(
						429,
						"rate_limited",
						"this asset was checked moments ago",
						(cached.at + LOOKUP_CACHE_MS - now) / 1000,
					),
				);
			return cached.answer;
		}
		const answer = this.check(assetId, upstream(), checkedAt);
		this.cached = { at: now, answer };
		return answer;
	}

	forget(): void {
		this.cached = null;
	}

	private async check(
		assetId: string,
		upstream: UpstreamCall | null,
		checkedAt: () => number,
	): Promise<Result<LookupAnswer>> {
		if (!upstream) return fail(503, "not_configured", "the service is missing configuration: CRUN_API_KEY");
		const outcome = await upstream(assetId);
		switch (outcome.kind) {
			case "busy":
				this.cached = null;
				return upstreamBusy(outcome);
			case "ok": {
				const u = outcome.asset;
				return ok({
					found: true,
					view: {
						asset_id: assetId,
						status: publicStatus(u.status),
						watched: false,
						name: u.name,
						asset_type: u.assetType,
						create_time: u.createTime,
						update_time: u.updateTime,
						checked_at: new Date(checkedAt()).toISOString(),
						next_check_at: null,
						checks: 1,
						last_error: null,
					},
				});
			}
			case "not_found":
				return ok({ found: false });
			case "invalid":
				return fail(400, "invalid_asset_id", `the upstream refused this asset id (${outcome.error})`);
			case "operator":
				return fail(
					502,
					"upstream_error",
					`the upstream refused the service's credentials (${outcome.error})`,
				);
			default:
				this.cached = null;
				return fail(502, "upstream_error", `the upstream could not be checked (${outcome.error})`);
		}
	}
}
