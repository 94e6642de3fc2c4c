// The asset object's side of the index: when to push, and the push itself. A push carries the
// asset's summary and its watches; the shard writes only rows that changed, so a push that repeats
// what the index has costs a call and no rows. While the summary is the one this instance last
// pushed, a push carries only the watches changed since (`PushedState`): a registration on an
// asset with a thousand watches sends one row, not a thousand. The object pushes when a run changed
// something the index shows, when its lease moves into a new heartbeat period (decided from the
// times alone, so nothing about past pushes is stored), and while `index_pending` says an earlier
// push failed; the sweep's heal forces one. A lost push makes the index lag, never lose: the next
// push carries the whole state, and an asset whose lease runs out is healed by the sweep.

import { clock } from "../core/clock";
import { errorText, logEvent } from "../core/log";
import { publicStatus } from "../core/states";
import { leaseFor, leaseRenewalDue } from "../watch-index/shards";
import { type AssetSync, type IndexKey, indexFor } from "../watch-index/watch-index";
import type { AssetStore } from "./store";

export interface PublishRequest {
	/** the asset's real next due time (null: nothing scheduled) */
	due: number | null;
	/** when this run began (the previous run's due time, for an alarm) */
	runAt: number;
	/** this run changed something the index shows (a watch, the status) */
	changed: boolean;
	/** push whatever happened (a repair) */
	force: boolean;
	retentionMs: number;
}

/** The version of a push: the asset's clock, never repeated by this instance. */
let lastVersion = 0;
function nextVersion(): number {
	lastVersion = Math.max(clock.now(), lastVersion + 1);
	return lastVersion;
}

/** What every index row of an asset repeats: its status, its sweep time, whether it finished. */
type Summary = Pick<AssetSync, "status" | "sweep_at" | "finished">;

const sameSummary = (a: Summary, b: Summary) =>
	a.status === b.status && a.sweep_at === b.sweep_at && a.finished === b.finished;

/**
 * What this instance knows its shard holds: the summary its last push that the shard took carried
 * (every row has it then), and the watches changed since a push last carried them. Memory only: a
 * fresh instance knows nothing and pushes every watch, as does a push after a failed one.
 */
export class PushedState {
	private last: (Summary & { version: number }) | null = null;
	private readonly changed = new Set<string>();

	/** A watch's indexed fields changed (the store reports it). */
	touched(watchId: string): void {
		this.changed.add(watchId);
	}

	/** The storage was wiped (a purge): nothing is known to be in the index any more. */
	forget(): void {
		this.last = null;
		this.changed.clear();
	}

	/** The watches a push with `summary` must carry: the changed ones, or every one (null). */
	take(summary: Summary): string[] | null {
		const ids = [...this.changed];
		this.changed.clear();
		return this.last !== null && sameSummary(this.last, summary) ? ids : null;
	}

	/** The shard took a push (a slower, older one never replaces what a newer one said). */
	taken(push: Summary & { version: number }): void {
		if (this.last === null || push.version > this.last.version) this.last = push;
	}

	/** A push failed: the next one carries every watch. */
	failed(): void {
		this.last = null;
	}
}

/**
 * Pushes the asset's summary and watches to its shard when the request calls for it. Never throws:
 * false means the index did not take it (the asset is marked pending and the caller retries soon).
 */
export async function publishToIndex(
	env: Env,
	store: AssetStore,
	r: PublishRequest,
	pushed: PushedState,
): Promise<boolean> {
	const asset = store.asset();
	if (!asset) return true;
	const renew = r.due !== null && leaseRenewalDue(r.runAt, r.due, asset.asset_id);
	if (!r.force && !r.changed && !renew && asset.index_pending === 0) return true;

	const now = clock.now();
	const finishedAt = store.finishedAt();
	const summary: Summary = {
		status: publicStatus(asset.status),
		// Work already due runs now (the alarm fires at once): the lease counts from now, so a healed
		// asset does not read overdue again before its alarm has had a chance to run.
		sweep_at:
			finishedAt !== null
				? finishedAt + r.retentionMs
				: r.due === null
					? null
					: leaseFor(Math.max(r.due, now), asset.asset_id),
		finished: finishedAt !== null,
	};
	// A repair, or a push after a failed one, carries every watch; so does a new summary.
	const changedIds = pushed.take(summary);
	const only = r.force || asset.index_pending !== 0 ? null : changedIds;
	const rows =
		only === null ? store.allWatches() : only.map((id) => store.watch(id)).filter((w) => w !== null);
	// Nothing the shard does not have already.
	if (only !== null && rows.length === 0) return true;
	const push: AssetSync = {
		asset_id: asset.asset_id,
		version: nextVersion(),
		...summary,
		watches: rows.map((w) => ({
			id: w.id,
			owner: w.owner,
			state: w.state,
			created_at: w.created_at,
			updated_at: w.updated_at,
			expires_at: w.expires_at,
		})),
	};
	try {
		await indexFor(env, asset.asset_id).sync(push);
	} catch (err) {
		logEvent("warn", "index push failed", { asset_id: asset.asset_id, error: errorText(err) });
		pushed.failed();
		if (asset.index_pending === 0) store.updateAsset({ index_pending: 1 });
		return false;
	}
	pushed.taken(push);
	if (asset.index_pending !== 0) store.updateAsset({ index_pending: 0 });
	return true;
}

/** Removes a purged asset's rows from its shard, up to `version`; false when the index did not answer. */
export async function removeFromIndex(
	env: Env,
	assetId: string,
	keys: IndexKey[],
	version: number,
): Promise<boolean> {
	try {
		await indexFor(env, assetId).remove(keys, version);
		return true;
	} catch (err) {
		logEvent("warn", "index remove failed", { asset_id: assetId, error: errorText(err) });
		return false;
	}
}
