// Status lookups of an asset nobody watches: one upstream check answers every lookup that arrives
// within LOOKUP_CACHE_MS (they share the promise), and nothing is written, so an unwatched asset
// leaves no state behind. A failed check is not kept: the next lookup may try again.

import { publicStatus } from "../core/states";
import { type CrunSettings, checkAsset } from "../crun/client";
import { fail, ok, type Result } from "./result";
import type { AssetView } from "./views";

/** Unwatched lookups are answered from memory for this long, however many arrive. */
export const LOOKUP_CACHE_MS = 5_000;

/**
 * A lookup's answer. `holdsUntil` (watched, non-terminal answers): nothing can change the answer
 * before then, so the edge may serve it until then; null when it may change at any moment.
 */
export type LookupAnswer = { found: true; view: AssetView; holdsUntil?: number | null } | { found: false };

export class UnwatchedLookups {
	private cached: { at: number; answer: Promise<Result<LookupAnswer>> } | null = null;

	/** The coalesced answer for `assetId` at `now`; `refresh` within the cache window is refused. */
	lookup(
		assetId: string,
		refresh: boolean,
		now: number,
		crun: () => CrunSettings | null,
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
		const answer = this.check(assetId, crun(), checkedAt);
		this.cached = { at: now, answer };
		return answer;
	}

	forget(): void {
		this.cached = null;
	}

	private async check(
		assetId: string,
		crun: CrunSettings | null,
		checkedAt: () => number,
	): Promise<Result<LookupAnswer>> {
		if (!crun) return fail(503, "not_configured", "the service is missing configuration: CRUN_API_KEY");
		const outcome = await checkAsset(crun, assetId);
		switch (outcome.kind) {
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
