// The asset object's storage: every SQL statement it runs, behind named reads and writes, so the
// object and its flows speak of watches and deliveries rather than of tables. Each write is one
// UPDATE or INSERT of one row (what Cloudflare bills), and the caller groups those that belong
// together in `transaction`. Watches whose indexed fields change are reported to `onWatchChange`
// (the index push and the token quotas follow them). docs/storage.md describes its table.

import { assetOfWatchId, webhookIdFor } from "../core/ids";
import { firstRow } from "../core/sql";
import {
	type EventType,
	type ExpiryReason,
	isLive,
	isTerminal,
	LIVE_SQL,
	terminalEvent,
	type WatchState,
} from "../core/states";
import { ASSET, migrate, WATCHES } from "./migrations";
import {
	type AssetRow,
	type AttemptOutcome,
	type AttemptRow,
	type DeliveryRow,
	hasDelivery,
	type NewWatch,
	recentAttempts,
	unansweredAsset,
	type WatchRow,
	wantsEvent,
} from "./rows";
import { UnsavedEvents } from "./unsaved-events";
import { eventBody } from "./views";

/** How many of a watch's latest attempts it keeps (and its view shows). */
export const RECENT_ATTEMPTS = 10;

/** A watch whose state (or another indexed field) a write changed; `liveBefore` is its liveness before. */
export type WatchChange = { id: string; owner: string; liveBefore: boolean; liveAfter: boolean };

export class AssetStore {
	private ready = false;
	/** terminal events opened in memory, written with their first attempt's record */
	private readonly unsaved = new UnsavedEvents();

	constructor(
		private readonly storage: DurableObjectStorage,
		private readonly onWatchChange: (change: WatchChange) => void,
	) {}

	private get sql() {
		return this.storage.sql;
	}

	/** Brings the schema up to date before the first write; reads before it see an empty asset. */
	ensureSchema(): void {
		if (this.ready) return;
		migrate(this.storage);
		this.ready = true;
	}

	/** Forgets everything stored, alarm included (the purge); the next write starts a new schema. */
	async deleteAll(): Promise<void> {
		this.ready = false;
		await this.storage.deleteAll();
	}

	transaction<T>(run: () => T): T {
		return this.storage.transactionSync(run);
	}

	// ---- reads ----------------------------------------------------------------------------

	/** The asset; before its first answer, what its first watch made it (rows.ts `unansweredAsset`). */
	asset(): AssetRow | null {
		if (!this.ready) return null;
		const row = firstRow(this.sql.exec<AssetRow>(ASSET));
		if (row) return row;
		const w = firstRow(
			this.sql.exec<{ id: string; at: number }>(
				"SELECT id, created_at AS at FROM records WHERE id > '' ORDER BY created_at LIMIT 1",
			),
		);
		const assetId = w ? assetOfWatchId(w.id) : null;
		return w && assetId ? unansweredAsset(assetId, w.at) : null;
	}

	watch(id: string): WatchRow | null {
		return this.unsaved.overlay(firstRow(this.sql.exec<WatchRow>(`${WATCHES} AND id = ?`, id)));
	}

	/** The watch `id` when it belongs to `owner`; another token's watch reads as none. */
	ownWatch(id: string, owner: string): WatchRow | null {
		if (!this.ready) return null;
		const w = this.watch(id);
		return w && w.owner === owner ? w : null;
	}

	allWatches(): WatchRow[] {
		if (!this.ready) return [];
		return this.sql.exec<WatchRow>(WATCHES).toArray();
	}

	/** The token's watch on this callback URL that is not cancelled, if any (registration is idempotent). */
	registeredWatch(owner: string, callbackUrl: string): WatchRow | null {
		return firstRow(
			this.sql.exec<WatchRow>(
				`${WATCHES} AND owner = ? AND callback_url = ? AND state != 'cancelled' ORDER BY created_at LIMIT 1`,
				owner,
				callbackUrl,
			),
		);
	}

	watching(): WatchRow[] {
		return this.sql.exec<WatchRow>(`${WATCHES} AND state = 'watching'`).toArray();
	}

	/** Watches still watching whose TTL has run out by `now`. */
	overdueWatches(now: number): WatchRow[] {
		return this.sql.exec<WatchRow>(`${WATCHES} AND state = 'watching' AND expires_at <= ?`, now).toArray();
	}

	liveCount = (): number => this.count(LIVE_SQL);
	private count(where: string, ...args: SqlStorageValue[]): number {
		return this.sql
			.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM records WHERE id > '' AND (${where})`, ...args)
			.one().n;
	}

	/** Some watch (any token) still holds state here: the asset is answered from storage. */
	isWatched(): boolean {
		return this.ready && this.count("state != 'cancelled'") > 0;
	}

	/** Polling runs while the asset is not terminal and some watch still waits for it. */
	isPolling(a: AssetRow): boolean {
		return !isTerminal(a.status) && a.expired_reason === null && this.count("state = 'watching'") > 0;
	}

	/**
	 * When the object must run next: the earliest of its next check (`nextCheck`, while polling: the
	 * check flow knows it, the row may not), delivery attempt and TTL expiry.
	 */
	nextDue(nextCheck: number | null): number | null {
		const a = this.asset();
		if (!a) return null;
		const times = [this.isPolling(a) ? nextCheck : null, this.nextAttemptAt(), this.nextExpiryAt()];
		const set = times.filter((t): t is number => t !== null);
		return set.length === 0 ? null : Math.min(...set);
	}

	/** A query's one time `t`, or null. */
	private time(query: string): number | null {
		return this.sql.exec<{ t: number | null }>(query).one().t;
	}

	/** The earliest delivery attempt due: of watches notifying, and of events owed (`openOwedEvents`). */
	nextAttemptAt(): number | null {
		return this.time(
			`SELECT MIN(t) AS t FROM (SELECT MIN(next_attempt_at) AS t FROM records WHERE id > '' AND state = 'notifying'
			 UNION ALL SELECT terminal_at FROM records WHERE id = '' AND EXISTS (SELECT 1 FROM records WHERE id > '' AND state = 'watching'))`,
		);
	}

	/** The earliest TTL expiry among watches still watching, if any. */
	nextExpiryAt(): number | null {
		return this.time("SELECT MIN(expires_at) AS t FROM records WHERE id > '' AND state = 'watching'");
	}

	/** When the asset's last live watch finished; null while any watch is watching or notifying. */
	finishedAt(): number | null {
		if (!this.ready || this.liveCount() > 0) return null;
		return this.time("SELECT MAX(finished_at) AS t FROM records WHERE id > ''");
	}

	/** Some work other than a check is due by `now`: a delivery attempt or a TTL expiry. */
	workDue(now: number): boolean {
		const at = [this.nextAttemptAt(), this.nextExpiryAt()];
		return at.some((t) => t !== null && t <= now);
	}

	/** Deliveries due by `now`, earliest first, at most `limit`. */
	dueDeliveries(now: number, limit: number): DeliveryRow[] {
		const opened = this.unsaved.ids().map((id) => this.watch(id));
		const stored = this.sql.exec<DeliveryRow>(
			`${WATCHES} AND state = 'notifying' AND webhook_id IS NOT NULL AND next_attempt_at <= ?
			 ORDER BY next_attempt_at LIMIT ?`,
			now,
			limit,
		);
		const fresh = opened.filter((w): w is DeliveryRow => w?.state === "notifying" && hasDelivery(w));
		return [...fresh, ...stored].slice(0, limit);
	}

	/** The owner's deliveries held for a paused receiver origin (few: scanned in memory). */
	heldDeliveries(owner: string): DeliveryRow[] {
		if (!this.ready) return [];
		return this.sql
			.exec<DeliveryRow>(`${WATCHES} AND state = 'notifying' AND held_since IS NOT NULL AND owner = ?`, owner)
			.toArray();
	}

	// ---- writes ---------------------------------------------------------------------------

	/** A new watch; `true` when the asset is new with it (it is then due for its first check now). */
	private insertWatch(w: NewWatch, now: number): boolean {
		const created = this.asset() === null;
		this.sql.exec(
			`INSERT INTO records (id, owner, callback_url, events, metadata, callback_headers, state, created_at, updated_at,
			 expires_at, client, attempts, round_attempts, generation) VALUES (?, ?, ?, ?, ?, ?, 'watching', ?, ?, ?, ?, 0, 0, 0)`,
			...[w.id, w.owner, w.callbackUrl, JSON.stringify(w.events), JSON.stringify(w.metadata)],
			...[JSON.stringify(w.callbackHeaders), now, now, w.expiresAt, w.client],
		);
		this.onWatchChange({ id: w.id, owner: w.owner, liveBefore: false, liveAfter: true });
		return created;
	}

	/**
	 * A registration's writes, in one transaction: the watch (the first one makes the asset due for
	 * its first check now; its row is written by that check's answer); on an asset already terminal,
	 * its event at once (no upstream call); on one given up on (expired), a fresh start of polling.
	 */
	addWatch(w: NewWatch, now: number): { restarted: boolean } {
		return this.transaction(() => {
			const newAsset = this.insertWatch(w, now);
			const a = this.asset() as AssetRow;
			const event = terminalEvent(a.status);
			if (event) {
				this.openEvent(
					this.watch(w.id) as WatchRow,
					{ type: event, at: a.terminal_at ?? now, reason: null },
					a,
					now,
				);
			} else if (!newAsset && (a.expired_reason !== null || a.next_check_at === null)) {
				this.updateAsset({
					expired_reason: null,
					next_check_at: now,
					plan: null,
					not_found_count: 0,
					not_found_since: null,
					updated_at: now,
				});
				return { restarted: true };
			}
			return { restarted: false };
		});
	}

	/** Sets the named columns of one row (`key`: '' the asset's), in one UPDATE; nothing when none are named. */
	private set(key: string, changes: Record<string, unknown>): void {
		// A watch's first write carries the event opened for it in memory.
		const fields = key !== "" ? { ...this.unsaved.take(key), ...changes } : changes;
		const names = Object.keys(fields);
		if (names.length === 0) return;
		this.sql.exec(
			`UPDATE records SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE id = ?`,
			...names.map((n) => fields[n] as SqlStorageValue),
			key,
		);
	}

	/** Sets the named columns of the asset row, in one UPDATE; the first write creates the row. */
	updateAsset(fields: Partial<AssetRow>): void {
		const unwritten =
			Object.keys(fields).length > 0 && !firstRow(this.sql.exec("SELECT 1 FROM records WHERE id = ''"));
		const a = unwritten && this.asset();
		if (!a) {
			this.set("", fields);
			return;
		}
		const row: Record<string, unknown> = { id: "", ...a, ...fields };
		const names = Object.keys(row);
		this.sql.exec(
			`INSERT INTO records (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
			...names.map((n) => row[n] as SqlStorageValue),
		);
	}

	/** Moves a watch to `state` (with the other columns given), in one UPDATE. */
	private moveWatch(
		w: Pick<WatchRow, "id" | "owner" | "state">,
		state: WatchState,
		now: number,
		fields: Partial<WatchRow> = {},
	): void {
		const live = isLive(state);
		this.set(w.id, { ...fields, state, updated_at: now, finished_at: live ? null : now });
		this.onWatchChange({ id: w.id, owner: w.owner, liveBefore: isLive(w.state), liveAfter: live });
	}

	cancelWatch(w: WatchRow, now: number): void {
		this.moveWatch(w, "cancelled", now);
	}

	/**
	 * The event a watch is owed: its exact body (built from `asset` as it is now) and its
	 * `webhook-id`, due now, when the watch asked for this type; or the watch is `skipped` when it did
	 * not. `unsaved`: a terminal event, kept in memory until its first attempt's record writes it.
	 */
	openEvent(
		w: WatchRow,
		event: { type: EventType; at: number; reason: ExpiryReason | null },
		asset: AssetRow,
		now: number,
		unsaved = false,
	): void {
		const opened = {
			webhook_id: w.webhook_id ?? webhookIdFor(w.id, event.type),
			event_type: w.event_type ?? event.type,
			body: w.body ?? eventBody(event.type, event.at, w, asset, event.reason),
			next_attempt_at: now,
		};
		if (!wantsEvent(w, event.type)) this.moveWatch(w, "skipped", now);
		else if (unsaved)
			this.unsaved.put(w.id, { ...opened, state: "notifying", updated_at: now, finished_at: null });
		else this.moveWatch(w, "notifying", now, opened);
	}

	/** What a terminal asset still owes when a run ended between its answer and the records: opened in the rows. */
	openOwedEvents(now: number): void {
		const a = this.asset();
		const type = a && terminalEvent(a.status);
		if (!a || !type) return;
		for (const w of this.watching())
			if (!this.unsaved.has(w.id))
				this.openEvent(w, { type, at: a.terminal_at ?? now, reason: null }, a, now);
	}

	/** A redelivery: a new round of attempts (same `webhook-id`, same body), due now. */
	restartDelivery(w: WatchRow, now: number): void {
		this.moveWatch(w, "notifying", now, {
			round_attempts: 0,
			generation: w.generation + 1,
			next_attempt_at: now,
			delivered_at: null,
			held_since: null,
		});
	}

	/** Holds a delivery for its paused receiver origin, since `since`, until `at` (no attempt counted). */
	holdForOrigin(watchId: string, since: number, at: number): void {
		this.set(watchId, { held_since: since, next_attempt_at: at });
	}

	/** Held deliveries whose origin is back: due now, no longer held. One UPDATE per watch. */
	releaseHeld(watchIds: readonly string[], now: number): void {
		for (const id of watchIds)
			this.sql.exec(
				"UPDATE records SET held_since = NULL, next_attempt_at = ? WHERE id = ? AND held_since IS NOT NULL",
				now,
				id,
			);
	}

	/** A delivery held for its origin longer than the schedule's span: failed, as retries running out would. */
	giveUpHeld(w: WatchRow, now: number, error: string): void {
		this.moveWatch(w, "failed", now, { next_attempt_at: null, held_since: null, last_error: error });
	}

	/** Holds a delivery until `at` without counting an attempt (nothing can be signed yet). */
	holdDelivery(watchId: string, at: number, lastError: string): void {
		this.set(watchId, { next_attempt_at: at, last_error: lastError });
	}

	/**
	 * Records one attempt and what follows from it, in the watch's row: one UPDATE. A probe of a
	 * paused origin (`inRound` false) is an attempt made, but not one of the schedule's.
	 */
	recordAttempt(w: WatchRow, attempt: AttemptRow, outcome: AttemptOutcome, inRound = true): void {
		const counted: Partial<WatchRow> = {
			attempts: w.attempts + 1,
			round_attempts: w.round_attempts + (inRound ? 1 : 0),
			last_status: attempt.status,
			last_error: attempt.error,
			last_attempt_at: attempt.at,
			recent_attempts: JSON.stringify([attempt, ...recentAttempts(w)].slice(0, RECENT_ATTEMPTS)),
		};
		if (outcome.kind === "end") {
			this.moveWatch(w, outcome.state, attempt.at, {
				...counted,
				next_attempt_at: null,
				held_since: null,
				...(outcome.deliveredAt !== null ? { delivered_at: outcome.deliveredAt } : {}),
			});
			return;
		}
		if (outcome.kind === "retry") {
			counted.next_attempt_at = outcome.at;
			counted.held_since = null;
		}
		if (outcome.kind === "hold") {
			counted.next_attempt_at = outcome.at;
			counted.held_since = outcome.heldSince;
		}
		this.set(w.id, counted);
	}
}
