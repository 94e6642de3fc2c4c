// Status lookups of an asset nobody watches: one upstream check answers every lookup that arrives
// within LOOKUP_CACHE_MS (they share the promise), and nothing is written, so an unwatched asset
// leaves no state behind. A failed check is not kept: the next lookup may try again. The call
// itself is the caller's (it draws on the upstream budget: check-flow.ts).

import { publicStatus } from "../core/states";
import type { CheckOutcome } from "../crun/classify";
import type { Busy } from "./check-flow";
import { fail, ok, type Result } from "./result";
import type { AssetView } from "./views";

/** Unwatched lookups are answered from memory for this long, however many arrive. */
export const LOOKUP_CACHE_MS = 5_000;

export type LookupAnswer = { found: true; view: AssetView } | { found: false };

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
