// WatchIndex: one shard of the index of assets and watches (an asset's rows live in the shard its
// id hashes to). The asset objects are the source of truth and push their summary here as it
// changes; every row carries the asset's version, so a late or replayed write never overwrites a
// newer one. The sweep, `GET /v1/watches` and `GET /v1/stats` read it by indexed queries only.
// docs/storage-index.md describes the tables.

import { DurableObject } from "cloudflare:workers";
import { loadConfig } from "../core/config";
import { firstRow, migrate } from "../core/sql";
import { LIVE_SQL, type WatchState } from "../core/states";
import type { ListPosition } from "./cursor";
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

/** What an asset object pushes: its summary, and the watches changed since its last acknowledged push. */
export interface AssetSync {
	asset_id: string;
	/** strictly increasing per asset, across purges too (it never falls behind the asset's clock) */
	version: number;
	/** the upstream status as the API shows it */
	status: string;
	/** the lease: by then the asset will have run again (null: nothing scheduled) */
	due_at: number | null;
	/** when the last live watch finished (null while any watch is watching or notifying) */
	finished_at: number | null;
	synced_at: number;
	watches: IndexedWatch[];
}

export interface SweepCandidates {
	/** assets past their lease, or with a watch past its TTL: to heal */
	heal: { asset_id: string; version: number }[];
	/** assets finished longer ago than the retention: to purge */
	purge: { asset_id: string; version: number }[];
	/** rows SQLite read to answer (the measure of this shard's sweep cost) */
	examined: number;
	/** the cap was reached: there may be more, which a later run picks up */
	more: boolean;
}

export interface ListFilter {
	asset_id?: string;
	state?: WatchState;
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

const MIGRATIONS: readonly { name: string; sql: string }[] = [
	{
		name: "0001_index",
		sql: `
CREATE TABLE assets (
	asset_id TEXT PRIMARY KEY,
	version INTEGER NOT NULL,
	status TEXT NOT NULL,
	due_at INTEGER,
	finished_at INTEGER,
	synced_at INTEGER NOT NULL
);
CREATE INDEX assets_by_due ON assets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX assets_by_finished ON assets (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE watches (
	id TEXT PRIMARY KEY,
	asset_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	state TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	version INTEGER NOT NULL
);
CREATE INDEX watches_by_owner ON watches (owner, created_at, id);
CREATE INDEX watches_by_owner_state ON watches (owner, state, created_at, id);
CREATE INDEX watches_by_owner_asset ON watches (owner, asset_id, created_at, id);
CREATE INDEX watches_by_asset ON watches (asset_id, version);
CREATE INDEX watches_live_by_expiry ON watches (expires_at) WHERE state = 'watching';
`,
	},
];

export class WatchIndex extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, MIGRATIONS);
		});
	}

	private get sql() {
		return this.ctx.storage.sql;
	}

	/** Applies an asset's push; rows already at a newer version are left alone. */
	async sync(u: AssetSync): Promise<void> {
		this.ctx.storage.transactionSync(() => {
			this.sql.exec(
				`INSERT INTO assets (asset_id, version, status, due_at, finished_at, synced_at) VALUES (?, ?, ?, ?, ?, ?)
				 ON CONFLICT (asset_id) DO UPDATE SET version = excluded.version, status = excluded.status,
				 due_at = excluded.due_at, finished_at = excluded.finished_at, synced_at = excluded.synced_at
				 WHERE excluded.version > assets.version`,
				u.asset_id,
				u.version,
				u.status,
				u.due_at,
				u.finished_at,
				u.synced_at,
			);
			for (const w of u.watches) {
				this.sql.exec(
					`INSERT INTO watches (id, asset_id, owner, state, created_at, updated_at, expires_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
					 ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
					 expires_at = excluded.expires_at, version = excluded.version
					 WHERE excluded.version > watches.version`,
					w.id,
					u.asset_id,
					w.owner,
					w.state,
					w.created_at,
					w.updated_at,
					w.expires_at,
					u.version,
				);
			}
		});
	}

	/**
	 * Forgets a purged asset: its rows up to `version`. A newer generation of the same asset id
	 * (registered again after the purge) has higher versions and stays.
	 */
	async remove(assetId: string, version: number): Promise<void> {
		this.ctx.storage.transactionSync(() => {
			this.sql.exec("DELETE FROM watches WHERE asset_id = ? AND version <= ?", assetId, version);
			this.sql.exec("DELETE FROM assets WHERE asset_id = ? AND version <= ?", assetId, version);
		});
	}

	/**
	 * The sweep's work in this shard, by indexed range queries that read only matching rows:
	 * assets past their lease by more than `graceMs`, watches still watching past their TTL (+ grace),
	 * and assets finished before `purgeBefore`. At most `cap` assets, overdue first.
	 */
	async candidates(now: number, graceMs: number, purgeBefore: number, cap: number): Promise<SweepCandidates> {
		let examined = 0;
		let more = false;
		const heal = new Map<string, number>();
		const take = (rows: { asset_id: string; version: number }[]) => {
			for (const r of rows) {
				if (heal.has(r.asset_id)) continue;
				if (heal.size >= cap) {
					more = true;
					return;
				}
				heal.set(r.asset_id, r.version);
			}
		};

		const overdue = this.sql.exec<{ asset_id: string; version: number }>(
			"SELECT asset_id, version FROM assets WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?",
			now - graceMs,
			cap + 1,
		);
		take(overdue.toArray());
		examined += overdue.rowsRead;

		if (heal.size < cap) {
			// Several watches of one asset may expire together: read a few more rows than the room left.
			const ttl = this.sql.exec<{ asset_id: string; version: number }>(
				`SELECT asset_id, version FROM watches WHERE state = 'watching' AND expires_at <= ?
				 ORDER BY expires_at LIMIT ?`,
				now - graceMs,
				(cap - heal.size) * 4 + 1,
			);
			take(ttl.toArray());
			examined += ttl.rowsRead;
		}

		const purge: SweepCandidates["purge"] = [];
		const room = cap - heal.size;
		if (room > 0) {
			const finished = this.sql.exec<{ asset_id: string; version: number }>(
				"SELECT asset_id, version FROM assets WHERE finished_at IS NOT NULL AND finished_at <= ? ORDER BY finished_at LIMIT ?",
				purgeBefore,
				room + 1,
			);
			for (const r of finished.toArray()) {
				// Finished yet overdue means a stale row: heal it now, purge it on a later run.
				if (heal.has(r.asset_id)) continue;
				if (purge.length >= room) {
					more = true;
					break;
				}
				purge.push(r);
			}
			examined += finished.rowsRead;
		}
		if (heal.size + purge.length >= cap) more = true;
		return { heal: [...heal].map(([asset_id, version]) => ({ asset_id, version })), purge, examined, more };
	}

	/** One token's watches in list order after `after`, at most `limit`. */
	async list(
		owner: string,
		filter: ListFilter,
		after: ListPosition | null,
		limit: number,
	): Promise<WatchSummaryRow[]> {
		const where = ["w.owner = ?"];
		const args: SqlStorageValue[] = [owner];
		if (filter.asset_id !== undefined) {
			where.push("w.asset_id = ?");
			args.push(filter.asset_id);
		}
		if (filter.state !== undefined) {
			where.push("w.state = ?");
			args.push(filter.state);
		}
		if (after) {
			where.push("(w.created_at, w.id) > (?, ?)");
			args.push(after.created_at, after.id);
		}
		return this.sql
			.exec<WatchSummaryRow & Record<string, SqlStorageValue>>(
				`SELECT w.id, w.asset_id, w.state, a.status AS asset_status, w.created_at, w.updated_at, w.expires_at
				 FROM watches w LEFT JOIN assets a ON a.asset_id = w.asset_id
				 WHERE ${where.join(" AND ")} ORDER BY w.created_at, w.id LIMIT ?`,
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
			`SELECT a.status, COUNT(*) AS n FROM assets a
			 WHERE a.asset_id IN (SELECT asset_id FROM watches WHERE owner = ?) GROUP BY a.status`,
			owner,
		))
			by_status[r.status] = r.n;
		// Overdue assets are few and the due index yields them oldest first: the first one owned wins.
		const most = firstRow(
			this.sql.exec<{ asset_id: string; due_at: number }>(
				`SELECT a.asset_id, a.due_at FROM assets a
					 WHERE a.due_at IS NOT NULL AND a.due_at < ?
					 AND EXISTS (SELECT 1 FROM watches w WHERE w.owner = ? AND w.asset_id = a.asset_id)
					 ORDER BY a.due_at LIMIT 1`,
				now,
				owner,
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
