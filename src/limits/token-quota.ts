// TokenQuota: one Durable Object per API token (named by the token's SHA-256, never the token).
// It keeps the set of the token's live watches (watching or notifying) in SQLite, so
// MAX_WATCHES_PER_TOKEN holds across assets. The
// asset objects report each watch going live or finishing by id, which makes every report
// idempotent; an audit against the asset objects heals any report lost to a crash.

import { DurableObject } from "cloudflare:workers";
import { clock } from "../core/clock";
import { assetOfWatchId } from "../core/ids";
import { migrate } from "../core/sql";

export type ReserveVerdict = { ok: true } | { ok: false; live: number };

/** Entries younger than this are never audited: their watch may still be on its way into storage. */
const AUDIT_GRACE_MS = 60_000;
/** At most this many entries are checked against their asset objects per audit. */
const AUDIT_BATCH = 100;
/** A token at its limit triggers at most one audit per this long. */
const AUDIT_INTERVAL_MS = 60_000;

/** The quota object's schema (see src/core/sql.ts): applied in order, never edited. */
const MIGRATIONS = [
	{
		name: "0001_live_watches",
		sql: "CREATE TABLE IF NOT EXISTS live_watches (watch_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL)",
	},
];

export class TokenQuota extends DurableObject<Env> {
	private lastAuditAt = Number.NEGATIVE_INFINITY;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, MIGRATIONS));
	}

	private get sql() {
		return this.ctx.storage.sql;
	}

	/**
	 * Holds a slot for a watch about to be created. Idempotent per watch id. Called before the
	 * watch is written, so a crash in between leaves a slot with no watch, which an audit frees.
	 */
	async reserve(watchId: string, limit: number): Promise<ReserveVerdict> {
		if (this.has(watchId)) return { ok: true };
		if (this.liveCount() >= limit) await this.audit();
		// No await from the count to the insert: concurrent reservations cannot both take the last slot.
		const live = this.liveCount();
		if (live >= limit) return { ok: false, live };
		this.sql.exec(
			"INSERT OR IGNORE INTO live_watches (watch_id, added_at) VALUES (?, ?)",
			watchId,
			clock.now(),
		);
		return { ok: true };
	}

	/** The asset objects' reports: watches that went live (a redelivery) and watches that finished. */
	async update(changes: { live: string[]; finished: string[] }): Promise<void> {
		const now = clock.now();
		this.ctx.storage.transactionSync(() => {
			for (const id of changes.live)
				this.sql.exec("INSERT OR IGNORE INTO live_watches (watch_id, added_at) VALUES (?, ?)", id, now);
			for (const id of changes.finished) this.sql.exec("DELETE FROM live_watches WHERE watch_id = ?", id);
		});
	}

	liveCount(): number {
		return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM live_watches").one().n;
	}

	private has(watchId: string): boolean {
		return this.sql.exec("SELECT 1 FROM live_watches WHERE watch_id = ?", watchId).toArray().length > 0;
	}

	/**
	 * Asks the asset objects which of the oldest entries are still live and frees the rest: slots
	 * reserved for a watch that was never written, and finishes whose report was lost.
	 */
	private async audit(): Promise<void> {
		const now = clock.now();
		if (now - this.lastAuditAt < AUDIT_INTERVAL_MS) return;
		this.lastAuditAt = now;
		const rows = this.sql
			.exec<{ watch_id: string }>(
				"SELECT watch_id FROM live_watches WHERE added_at <= ? ORDER BY added_at LIMIT ?",
				now - AUDIT_GRACE_MS,
				AUDIT_BATCH,
			)
			.toArray();
		const byAsset = new Map<string, string[]>();
		for (const { watch_id } of rows) {
			const assetId = assetOfWatchId(watch_id);
			if (assetId === null) continue;
			byAsset.set(assetId, [...(byAsset.get(assetId) ?? []), watch_id]);
		}
		await Promise.all(
			[...byAsset].map(async ([assetId, ids]) => {
				try {
					const live = new Set(await this.env.ASSET_WATCHER.getByName(assetId).liveWatchIds(ids));
					for (const id of ids)
						if (!live.has(id)) this.sql.exec("DELETE FROM live_watches WHERE watch_id = ?", id);
				} catch {
					// An asset object that cannot answer now keeps its entries until the next audit.
				}
			}),
		);
	}
}

export function tokenQuota(env: Env, owner: string): DurableObjectStub<TokenQuota> {
	return env.TOKEN_QUOTA.getByName(owner);
}
