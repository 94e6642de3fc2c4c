// The asset object's storage: every SQL statement it runs, behind named reads and writes, so the
// object and its flows speak of watches and deliveries rather than of tables. Writes are
// synchronous SQLite calls; the caller groups those that belong together in `transaction`.
// docs/storage.md describes the tables.

import { newWebhookId } from "../core/ids";
import { firstRow } from "../core/sql";
import { type EventType, isLive, isTerminal, LIVE_SQL, type WatchState } from "../core/states";
import { migrate } from "./migrations";
import { type AssetRow, type AttemptRow, type DeliveryRow, type WatchRow, wantsEvent } from "./rows";

/** How many of a watch's latest attempts its view shows. */
const RECENT_ATTEMPTS = 10;

/** A due delivery with what sending it needs from its watch. */
export type DueDelivery = DeliveryRow & { callback_url: string; callback_headers: string };

/** What a registration asks for, as the asset object's `register` takes it. */
export interface RegisterInput {
	assetId: string;
	owner: string;
	callbackUrl: string;
	events: EventType[];
	metadata: Record<string, unknown>;
	callbackHeaders: Record<string, string>;
}

export type NewWatch = RegisterInput & { id: string; expiresAt: number };

export class AssetStore {
	private ready = false;

	constructor(private readonly storage: DurableObjectStorage) {}

	private get sql() {
		return this.storage.sql;
	}

	/** Brings the schema up to date before the first write; reads before it see an empty asset. */
	ensureSchema(): void {
		if (this.ready) return;
		migrate(this.storage);
		this.ready = true;
	}

	/** Forgets everything stored (the purge); the next write starts a new schema. */
	async deleteAll(): Promise<void> {
		this.ready = false;
		await this.storage.deleteAlarm();
		await this.storage.deleteAll();
	}

	transaction<T>(run: () => T): T {
		return this.storage.transactionSync(run);
	}

	// ---- reads ----------------------------------------------------------------------------

	asset(): AssetRow | null {
		if (!this.ready) return null;
		return firstRow(this.sql.exec<AssetRow>("SELECT * FROM asset WHERE id = 1"));
	}

	watch(id: string): WatchRow | null {
		return firstRow(this.sql.exec<WatchRow>("SELECT * FROM watches WHERE id = ?", id));
	}

	/** The watch `id` when it belongs to `owner`; another token's watch reads as none. */
	ownWatch(id: string, owner: string): WatchRow | null {
		if (!this.ready) return null;
		const w = this.watch(id);
		return w && w.owner === owner ? w : null;
	}

	delivery(watchId: string): DeliveryRow | null {
		return firstRow(this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE watch_id = ?", watchId));
	}

	recentAttempts(watchId: string): AttemptRow[] {
		return this.sql
			.exec<AttemptRow>(
				"SELECT attempt, at, status, error, duration_ms FROM attempts WHERE watch_id = ? ORDER BY id DESC LIMIT ?",
				watchId,
				RECENT_ATTEMPTS,
			)
			.toArray();
	}

	/** The token's watch on this callback URL that is not cancelled, if any (registration is idempotent). */
	registeredWatch(owner: string, callbackUrl: string): WatchRow | null {
		return firstRow(
			this.sql.exec<WatchRow>(
				"SELECT * FROM watches WHERE owner = ? AND callback_url = ? AND state != 'cancelled' ORDER BY created_at LIMIT 1",
				owner,
				callbackUrl,
			),
		);
	}

	watching(): WatchRow[] {
		return this.sql.exec<WatchRow>("SELECT * FROM watches WHERE state = 'watching'").toArray();
	}

	/** Watches still watching whose TTL has run out by `now`. */
	overdueWatches(now: number): WatchRow[] {
		return this.sql
			.exec<WatchRow>("SELECT * FROM watches WHERE state = 'watching' AND expires_at <= ?", now)
			.toArray();
	}

	liveCount(): number {
		return this.count(LIVE_SQL);
	}

	private count(where: string, ...args: SqlStorageValue[]): number {
		return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM watches WHERE ${where}`, ...args).one().n;
	}

	/** Some watch (any token) still holds state here: the asset is answered from storage. */
	isWatched(): boolean {
		return this.ready && this.count("state != 'cancelled'") > 0;
	}

	/** Polling runs while the asset is not terminal and some watch still waits for it. */
	isPolling(a: AssetRow): boolean {
		return !isTerminal(a.status) && a.expired_reason === null && this.count("state = 'watching'") > 0;
	}

	/** The earliest delivery attempt due among watches that are notifying, if any. */
	nextAttemptAt(): number | null {
		return this.sql
			.exec<{ t: number | null }>(
				"SELECT MIN(d.next_attempt_at) AS t FROM deliveries d JOIN watches w ON w.id = d.watch_id WHERE w.state = 'notifying'",
			)
			.one().t;
	}

	/** The earliest TTL expiry among watches still watching, if any. */
	nextExpiryAt(): number | null {
		return this.sql
			.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM watches WHERE state = 'watching'")
			.one().t;
	}

	/** Deliveries due by `now`, earliest first, at most `limit`. */
	dueDeliveries(now: number, limit: number): DueDelivery[] {
		return this.sql
			.exec<DueDelivery>(
				`SELECT d.*, w.callback_url, w.callback_headers FROM deliveries d JOIN watches w ON w.id = d.watch_id
				 WHERE w.state = 'notifying' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
				now,
				limit,
			)
			.toArray();
	}

	// ---- writes ---------------------------------------------------------------------------

	insertWatch(w: NewWatch, now: number): void {
		this.sql.exec(
			"INSERT OR IGNORE INTO asset (id, asset_id, created_at, updated_at) VALUES (1, ?, ?, ?)",
			w.assetId,
			now,
			now,
		);
		this.sql.exec(
			`INSERT INTO watches (id, owner, callback_url, events, metadata, callback_headers, state, created_at, updated_at, expires_at)
			 VALUES (?, ?, ?, ?, ?, ?, 'watching', ?, ?, ?)`,
			w.id,
			w.owner,
			w.callbackUrl,
			JSON.stringify(w.events),
			JSON.stringify(w.metadata),
			JSON.stringify(w.callbackHeaders),
			now,
			now,
			w.expiresAt,
		);
	}

	/** Sets the named columns of the asset row, in one UPDATE. */
	updateAsset(fields: Partial<AssetRow>): void {
		const names = Object.keys(fields) as (keyof AssetRow)[];
		if (names.length === 0) return;
		this.sql.exec(
			`UPDATE asset SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE id = 1`,
			...names.map((n) => fields[n] as SqlStorageValue),
		);
	}

	setWatchState(id: string, state: WatchState, now: number): void {
		this.sql.exec(
			"UPDATE watches SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?",
			state,
			now,
			isLive(state) ? null : now,
			id,
		);
	}

	/**
	 * The event a watch is owed: stored with its exact body and a new `webhook-id` (due now) when
	 * the watch asked for this type, or the watch is `skipped` when it did not.
	 */
	openEvent(w: WatchRow, type: EventType, body: string, now: number): void {
		if (!wantsEvent(w, type)) {
			this.setWatchState(w.id, "skipped", now);
			return;
		}
		this.sql.exec(
			`INSERT OR IGNORE INTO deliveries (watch_id, webhook_id, event_type, body, next_attempt_at, created_at)
			 VALUES (?, ?, ?, ?, ?, ?)`,
			w.id,
			newWebhookId(),
			type,
			body,
			now,
			now,
		);
		this.setWatchState(w.id, "notifying", now);
	}

	/** A redelivery: a new round of attempts (same `webhook-id`, same body), due now. */
	restartDelivery(watchId: string, now: number): void {
		this.sql.exec(
			"UPDATE deliveries SET round_attempts = 0, generation = generation + 1, next_attempt_at = ?, delivered_at = NULL WHERE watch_id = ?",
			now,
			watchId,
		);
		this.setWatchState(watchId, "notifying", now);
	}

	/** Moves a delivery's next attempt (a lease before sending, a hold while unsigned, a retry). */
	scheduleDelivery(watchId: string, at: number | null, lastError?: string): void {
		if (lastError === undefined)
			this.sql.exec("UPDATE deliveries SET next_attempt_at = ? WHERE watch_id = ?", at, watchId);
		else
			this.sql.exec(
				"UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE watch_id = ?",
				at,
				lastError,
				watchId,
			);
	}

	/** Records one attempt: the attempt row and the delivery's counters and last answer. */
	recordAttempt(
		watchId: string,
		attempt: AttemptRow,
		lastStatus: number | null,
		lastError: string | null,
	): void {
		this.sql.exec(
			"INSERT INTO attempts (watch_id, attempt, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
			watchId,
			attempt.attempt,
			attempt.at,
			attempt.status,
			attempt.error,
			attempt.duration_ms,
		);
		this.sql.exec(
			"UPDATE deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1, last_status = ?, last_error = ?, last_attempt_at = ? WHERE watch_id = ?",
			lastStatus,
			lastError,
			attempt.at,
			watchId,
		);
	}

	/** A delivery that ended: no further attempt, `delivered_at` when it was delivered. */
	endDelivery(watchId: string, deliveredAt: number | null): void {
		this.sql.exec(
			"UPDATE deliveries SET next_attempt_at = NULL, delivered_at = COALESCE(?, delivered_at) WHERE watch_id = ?",
			deliveredAt,
			watchId,
		);
	}
}
