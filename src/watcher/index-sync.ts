// The asset object's side of the index: what it last published to its shard and which watches
// changed since (SQLite triggers mark every watch insert or state change, whoever makes it), and
// the push itself. A push that fails leaves the asset marked pending: its next alarm (set soon
// for that) or the sweep's heal pushes again, so the index lags at worst and never loses a change.

import { clock } from "../core/clock";
import { errorText, logEvent } from "../core/log";
import { firstRow } from "../core/sql";
import { LIVE_SQL, publicStatus, type WatchState } from "../core/states";
import { leaseFor } from "../watch-index/shards";
import { type AssetSync, type IndexedWatch, indexFor } from "../watch-index/watch-index";

type SyncState = {
	change_seq: number;
	acked_seq: number;
	version: number;
	pending: number;
	status: string | null;
	due_at: number | null;
	finished_at: number | null;
};

/** When the asset's last live watch finished; null while any watch is watching or notifying. */
export function finishedAt(sql: SqlStorage): number | null {
	if (sql.exec(`SELECT 1 FROM watches WHERE ${LIVE_SQL} LIMIT 1`).toArray().length > 0) return null;
	return sql.exec<{ t: number | null }>("SELECT MAX(finished_at) AS t FROM watches").one().t;
}

/** The version of the asset's last push (0 when it never pushed). */
export function publishedVersion(sql: SqlStorage): number {
	return sql.exec<{ version: number }>("SELECT version FROM index_sync WHERE id = 1").one().version;
}

/**
 * Publishes the asset's summary and changed watches to its index shard when anything the index
 * holds changed (or `force`: a full re-push, for repairs). `due` is the asset's real next due time.
 * Never throws: false means the index did not take it and the caller should retry soon.
 */
export async function publishToIndex(
	storage: DurableObjectStorage,
	env: Env,
	due: number | null,
	force = false,
): Promise<boolean> {
	const sql = storage.sql;
	const asset = firstRow(
		sql.exec<{ asset_id: string; status: string }>("SELECT asset_id, status FROM asset WHERE id = 1"),
	);
	if (!asset) return true;
	const st = sql.exec<SyncState>("SELECT * FROM index_sync WHERE id = 1").one();
	const now = clock.now();
	const summary = {
		status: publicStatus(asset.status),
		// Work already due runs now (the alarm fires at once): the lease counts from now, so a
		// healed asset does not read overdue again before its alarm has had a chance to run.
		due_at: leaseFor(due === null ? null : Math.max(due, now), st.due_at),
		finished_at: finishedAt(sql),
	};
	const changed =
		st.version === 0 ||
		summary.status !== st.status ||
		summary.due_at !== st.due_at ||
		summary.finished_at !== st.finished_at;
	const watchesChanged = st.change_seq > st.acked_seq;
	if (!force && !changed && !watchesChanged && st.pending === 0) return true;

	// Above the asset's clock as well as its last push, so a generation registered after a purge
	// starts above every version the purged one wrote.
	const version = Math.max(st.version + 1, now);
	const sentSeq = st.change_seq;
	const watches = sql
		.exec<IndexedWatch & Record<string, SqlStorageValue>>(
			`SELECT id, owner, state, created_at, updated_at, expires_at FROM watches ${force ? "" : "WHERE index_seq > ?"}`,
			...(force ? [] : [st.acked_seq]),
		)
		.toArray()
		.map((w) => ({ ...w, state: w.state as WatchState }));
	sql.exec(
		"UPDATE index_sync SET version = ?, pending = 1, status = ?, due_at = ?, finished_at = ? WHERE id = 1",
		version,
		summary.status,
		summary.due_at,
		summary.finished_at,
	);
	const push: AssetSync = { asset_id: asset.asset_id, version, ...summary, synced_at: now, watches };
	try {
		await indexFor(env, asset.asset_id).sync(push);
	} catch (err) {
		logEvent("warn", "index push failed", { asset_id: asset.asset_id, error: errorText(err) });
		return false;
	}
	// Another push may have started while this one was in flight: only the latest clears `pending`.
	sql.exec(
		"UPDATE index_sync SET acked_seq = MAX(acked_seq, ?), pending = CASE WHEN version = ? THEN 0 ELSE pending END WHERE id = 1",
		sentSeq,
		version,
	);
	return true;
}

/** Removes a purged asset's rows from its shard, up to `version`; false when the index did not answer. */
export async function removeFromIndex(env: Env, assetId: string, version: number): Promise<boolean> {
	try {
		await indexFor(env, assetId).remove(assetId, version);
		return true;
	} catch (err) {
		logEvent("warn", "index remove failed", { asset_id: assetId, error: errorText(err) });
		return false;
	}
}
