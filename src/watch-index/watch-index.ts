// WatchIndex: one shard of the index of watches (an asset's rows live in the shard its id hashes
// to). The asset objects are the source of truth and push their watches here with their asset's
// summary; every row carries the push's version, so a late or replayed write never overwrites a
// newer one, and a row whose content did not change is not written at all (only changes are
// billed). The sweep, `GET /v1/watches` and `GET /v1/stats` read it by its key and one index.
// docs/storage-index.md describes the table.

import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../core/config";
import { firstRow, migrate } from "../core/sql";
import { LIVE_SQL, type WatchState } from "../core/states";
import type { ListPosition } from "./cursor";
import { BASELINE, MIGRATIONS } from "./migrations";
import { shardName, shardOf } from "./shards";

/** A watch as the index holds it: enough to list, count and expire, never callback details. */
export interface IndexedWatch {
	id: string;
	owner: string;
	state: WatchState;
	created_at: number;
	updated_at: number;
	expires_at: number;
}

/** A watch row's key, which the sweep hands back so that a purged asset's rows can be removed. */
export type IndexKey = Pick<IndexedWatch, "owner" | "created_at" | "id">;

/** What an asset object pushes: its summary and its watches (every one, or those changed since its last push). */
export interface AssetSync {
	asset_id: string;
	/** increasing per asset, across purges too (it is the asset's clock at the push) */
	version: number;
	/** the upstream status as the API shows it */
	status: string;
	/**
	 * When the sweep should look at the asset: while it is live, its lease (by then it will have
	 * run again, or it is overdue); once it finished, when its retention ends (it is purged then).
	 */
	sweep_at: number | null;
	/** every watch finished: the asset waits for its purge */
	finished: boolean;
	watches: IndexedWatch[];
}

export interface SweepCandidate {
	asset_id: string;
	/** the newest version of the asset's rows seen */
	version: number;
	keys: IndexKey[];
}

export interface SweepCandidates {
	/** assets past their lease: to heal */
	heal: SweepCandidate[];
	/** assets finished and past their retention: to purge */
	purge: SweepCandidate[];
	/** rows SQLite read to answer (the measure of this shard's sweep cost) */
	examined: number;
	/** the cap was reached: there may be more, which a later run picks up */
	more: boolean;
}

export interface ListFilter {
	asset_id?: string;
	state?: WatchState;
	/** only watches whose updated_at is at or after this (ms) */
	updated_from?: number;
	/** only watches whose updated_at is before this (ms) */
	updated_to?: number;
}

export interface WatchSummaryRow {
	id: string;
	asset_id: string;
	state: WatchState;
	asset_status: string | null;
	created_at: number;
	updated_at: number;
	expires_at: number;
}

export interface ShardStats {
	by_state: Record<string, number>;
	by_status: Record<string, number>;
	most_overdue: { asset_id: string; due_at: number } | null;
}

type SweepRow = IndexKey & { asset_id: string; version: number; finished: number; sweep_at: number };

export class WatchIndex extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, { migrations: MIGRATIONS, baseline: BASELINE });
		});
	}

	private get sql() {
		return this.ctx.storage.sql;
	}

	/** Applies an asset's push: each row is written only when it is newer and says something new. */
	async sync(u: AssetSync): Promise<void> {
		this.ctx.storage.transactionSync(() => {
			for (const w of u.watches) {
				this.sql.exec(
					`INSERT INTO watches (owner, created_at, id, asset_id, state, asset_status, updated_at, expires_at, sweep_at, finished, version)
					 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
					 ON CONFLICT (owner, created_at, id) DO UPDATE SET state = excluded.state,
					 asset_status = excluded.asset_status, updated_at = excluded.updated_at,
					 expires_at = excluded.expires_at, sweep_at = excluded.sweep_at, finished = excluded.finished,
					 version = excluded.version
					 WHERE excluded.version > watches.version AND (watches.state IS NOT excluded.state
					 OR watches.asset_status IS NOT excluded.asset_status OR watches.updated_at IS NOT excluded.updated_at
					 OR watches.expires_at IS NOT excluded.expires_at OR watches.sweep_at IS NOT excluded.sweep_at
					 OR watches.finished IS NOT excluded.finished)`,
					w.owner,
					w.created_at,
					w.id,
					u.asset_id,
					w.state,
					u.status,
					w.updated_at,
					w.expires_at,
					u.sweep_at,
					u.finished ? 1 : 0,
					u.version,
				);
			}
		});
	}

	/**
	 * Forgets a purged asset's rows, up to `version`. A newer generation of the same asset id
	 * (registered again after the purge) has new watch ids and higher versions, and stays.
	 */
	async remove(keys: IndexKey[], version: number): Promise<void> {
		this.ctx.storage.transactionSync(() => {
			for (const k of keys)
				this.sql.exec(
					"DELETE FROM watches WHERE owner = ? AND created_at = ? AND id = ? AND version <= ?",
					k.owner,
					k.created_at,
					k.id,
					version,
				);
		});
	}

	/**
	 * The sweep's work in this shard, by one range query on sweep_at that reads only due rows:
	 * live assets past their lease by more than `graceMs`, and finished assets past their
	 * retention. At most `cap` assets, the longest due first.
	 */
	async candidates(now: number, graceMs: number, cap: number): Promise<SweepCandidates> {
		const found = new Map<string, SweepCandidate & { finished: boolean }>();
		let more = false;
		// An asset's watches share its sweep_at: read a few rows more than the assets wanted.
		const rows = this.sql.exec<SweepRow>(
			`SELECT owner, created_at, id, asset_id, version, finished, sweep_at FROM watches
			 WHERE sweep_at IS NOT NULL AND sweep_at <= ? ORDER BY sweep_at LIMIT ?`,
			now,
			cap * 4 + 1,
		);
		for (const r of rows) {
			// A live asset a little past its lease is about to renew it (alarms fire a little late).
			if (r.finished === 0 && r.sweep_at > now - graceMs) continue;
			let c = found.get(r.asset_id);
			if (!c) {
				if (found.size >= cap) {
					more = true;
					break;
				}
				c = { asset_id: r.asset_id, version: r.version, keys: [], finished: r.finished === 1 };
				found.set(r.asset_id, c);
			}
			c.version = Math.max(c.version, r.version);
			// Finished only when every row says so: a row still live means the asset needs a heal.
			c.finished &&= r.finished === 1;
			c.keys.push({ owner: r.owner, created_at: r.created_at, id: r.id });
		}
		if (rows.rowsRead > cap * 4) more = true;
		const all = [...found.values()].map(({ finished, ...c }) => ({ finished, c }));
		return {
			heal: all.filter((x) => !x.finished).map((x) => x.c),
			purge: all.filter((x) => x.finished).map((x) => x.c),
			examined: rows.rowsRead,
			more,
		};
	}

	/** One token's watches in list order after `after`, at most `limit`. */
	async list(
		owner: string,
		filter: ListFilter,
		after: ListPosition | null,
		limit: number,
	): Promise<WatchSummaryRow[]> {
		const where = ["owner = ?"];
		const args: SqlStorageValue[] = [owner];
		if (filter.asset_id !== undefined) {
			where.push("asset_id = ?");
			args.push(filter.asset_id);
		}
		if (filter.state !== undefined) {
			where.push("state = ?");
			args.push(filter.state);
		}
		// The bulk redelivery's window: read from the owner's key range like the other filters.
		if (filter.updated_from !== undefined) {
			where.push("updated_at >= ?");
			args.push(filter.updated_from);
		}
		if (filter.updated_to !== undefined) {
			where.push("updated_at < ?");
			args.push(filter.updated_to);
		}
		if (after) {
			where.push("(created_at, id) > (?, ?)");
			args.push(after.created_at, after.id);
		}
		return this.sql
			.exec<WatchSummaryRow & Record<string, SqlStorageValue>>(
				`SELECT id, asset_id, state, asset_status, created_at, updated_at, expires_at FROM watches
				 WHERE ${where.join(" AND ")} ORDER BY created_at, id LIMIT ?`,
				...args,
				limit,
			)
			.toArray();
	}

	/** Counts for one token: its watches by state, its assets by upstream status, its most overdue asset. */
	async stats(owner: string, now: number): Promise<ShardStats> {
		const by_state: Record<string, number> = {};
		for (const r of this.sql.exec<{ state: string; n: number }>(
			"SELECT state, COUNT(*) AS n FROM watches WHERE owner = ? GROUP BY state",
			owner,
		))
			by_state[r.state] = r.n;
		const by_status: Record<string, number> = {};
		for (const r of this.sql.exec<{ status: string; n: number }>(
			"SELECT asset_status AS status, COUNT(DISTINCT asset_id) AS n FROM watches WHERE owner = ? GROUP BY asset_status",
			owner,
		))
			by_status[r.status] = r.n;
		const most = firstRow(
			this.sql.exec<{ asset_id: string; due_at: number }>(
				`SELECT asset_id, sweep_at AS due_at FROM watches
				 WHERE owner = ? AND finished = 0 AND sweep_at IS NOT NULL AND sweep_at < ?
				 ORDER BY sweep_at LIMIT 1`,
				owner,
				now,
			),
		);
		return { by_state, by_status, most_overdue: most };
	}

	/** One token's live watches (watching or notifying) here: MAX_WATCHES_PER_TOKEN counts these. */
	async liveCount(owner: string): Promise<number> {
		return this.sql
			.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM watches WHERE owner = ? AND ${LIVE_SQL}`, owner)
			.one().n;
	}
}

/** The index's RPC surface, typed as the class declares it (the stub's own type widens results). */
export type WatchIndexRpc = Pick<
	WatchIndex,
	"sync" | "remove" | "candidates" | "list" | "stats" | "liveCount"
>;

export function indexShard(env: Env, shard: number): WatchIndexRpc {
	return env.WATCH_INDEX.getByName(shardName(shard)) as unknown as WatchIndexRpc;
}

/** The index shard that holds an asset's rows. */
export function indexFor(env: Env, assetId: string): WatchIndexRpc {
	return indexShard(env, shardOf(assetId, loadConfig(env).INDEX_SHARDS));
}
