// Reads across the index shards for the API: one token's watches in one global order (each shard
// answers its own page in that order and the pages are merged, so a cursor is just a position),
// one token's counts, and its live watches (the token quota's count, exact or sampled from one
// shard). An asset_id filter asks only the shard that asset lives in.

import { loadConfig } from "../core/config";
import { HttpError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import { compareListPosition, type ListPosition } from "./cursor";
import { shardOf } from "./shards";
import {
	indexShard,
	type ListFilter,
	type ShardStats,
	type WatchIndexRpc,
	type WatchSummaryRow,
} from "./watch-index";

export class IndexUnavailableError extends HttpError {
	constructor() {
		super(503, "index_unavailable", "the watch index did not answer; try again shortly");
	}
}

async function fromShards<T>(
	env: Env,
	shards: number[],
	ask: (shard: WatchIndexRpc) => Promise<T>,
): Promise<T[]> {
	try {
		return await Promise.all(shards.map((n) => ask(indexShard(env, n))));
	} catch (err) {
		logEvent("warn", "index read failed", { error: errorText(err) });
		throw new IndexUnavailableError();
	}
}

/** Every shard's number, 0 to INDEX_SHARDS − 1: what a read across the whole index asks. */
function everyShard(env: Env): number[] {
	return Array.from({ length: loadConfig(env).INDEX_SHARDS }, (_, i) => i);
}

/** One page of a token's watches after `after`, and the position to continue from (null at the end). */
export async function listWatches(
	env: Env,
	owner: string,
	filter: ListFilter,
	after: ListPosition | null,
	limit: number,
): Promise<{ rows: WatchSummaryRow[]; next: ListPosition | null }> {
	const shards =
		filter.asset_id !== undefined
			? [shardOf(filter.asset_id, loadConfig(env).INDEX_SHARDS)]
			: everyShard(env);
	// limit + 1 from each shard: the merged first `limit` are exact, and one more says there is a next page.
	const pages = await fromShards(env, shards, (s) => s.list(owner, filter, after, limit + 1));
	const merged = pages.flat().sort(compareListPosition);
	const rows = merged.slice(0, limit);
	const last = rows[rows.length - 1];
	return { rows, next: merged.length > limit && last ? { created_at: last.created_at, id: last.id } : null };
}

export interface TokenStats extends ShardStats {
	watches: number;
	assets: number;
}

/** A token's watches by state, its assets by upstream status, and its most overdue asset. */
export async function tokenStats(env: Env, owner: string, now: number): Promise<TokenStats> {
	const answers = await fromShards(env, everyShard(env), (s) => s.stats(owner, now));
	const total: TokenStats = { by_state: {}, by_status: {}, most_overdue: null, watches: 0, assets: 0 };
	for (const a of answers) {
		for (const [k, n] of Object.entries(a.by_state)) {
			total.by_state[k] = (total.by_state[k] ?? 0) + n;
			total.watches += n;
		}
		for (const [k, n] of Object.entries(a.by_status)) {
			total.by_status[k] = (total.by_status[k] ?? 0) + n;
			total.assets += n;
		}
		if (a.most_overdue && (!total.most_overdue || a.most_overdue.due_at < total.most_overdue.due_at))
			total.most_overdue = a.most_overdue;
	}
	return total;
}

/** How many of a token's watches are live (watching or notifying), across every shard. */
export async function liveWatchCount(env: Env, owner: string): Promise<number> {
	const counts = await fromShards(env, everyShard(env), (s) => s.liveCount(owner));
	return counts.reduce((a, b) => a + b, 0);
}

/**
 * An estimate of the same from one shard (`shard` modulo the number of shards), scaled by the
 * number of shards: assets are placed by a hash of their id, so a token's watches spread evenly
 * unless it puts many on few assets. One call instead of one per shard.
 */
export async function sampledLiveWatchCount(env: Env, owner: string, shard: number): Promise<number> {
	const count = loadConfig(env).INDEX_SHARDS;
	const [n = 0] = await fromShards(env, [shard % count], (s) => s.liveCount(owner));
	return n * count;
}
