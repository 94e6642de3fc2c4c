// AssetWatcher: one Durable Object per asset id. It owns the asset's watches, polls the upstream
// with one alarm, and delivers every owed callback. All state is in SQLite and each change is
// written before the side effect that depends on it (leases on checks and deliveries), so an
// alarm re-run after a crash at any point sends at most a duplicate and never loses anything.

import { DurableObject } from "cloudflare:workers";
import { clock } from "../clock";
import { type Config, loadConfig } from "../config";
import type { CheckOutcome } from "../crun/classify";
import { isTerminal } from "../crun/classify";
import { type CrunSettings, checkAsset } from "../crun/client";
import { maxAttempts, planNextAttempt } from "../delivery/policy";
import { sendCallback } from "../delivery/send";
import { newWatchId, newWebhookId } from "../ids";
import { tokenQuota } from "../limits/token-quota";
import { finishedAt, publishedVersion, publishToIndex, removeFromIndex } from "../sweep/index-sync";
import { hasSchema, migrate } from "./migrations";
import {
	type AssetRow,
	type AssetView,
	type AttemptRow,
	assetView,
	type DeliveryRow,
	type EventType,
	type ExpiryReason,
	eventBody,
	isLive,
	LIVE_SQL,
	publicStatus,
	terminalEvent,
	type WatchRow,
	type WatchView,
	watchView,
} from "./model";
import { fail, ok, type Result } from "./result";
import { type PollState, planNextCheck } from "./schedule";

export interface RegisterInput {
	assetId: string;
	owner: string;
	callbackUrl: string;
	events: EventType[];
	metadata: Record<string, unknown>;
	callbackHeaders: Record<string, string>;
}

/** Unwatched lookups are answered from memory for this long, however many arrive. */
export const LOOKUP_CACHE_MS = 5_000;
/** `?refresh=true` forces at most one upstream check per asset per this long. */
export const FORCED_CHECK_INTERVAL_MS = 5_000;
/** Deliveries sent concurrently by one alarm run; the rest follow in an immediate re-run. */
const DELIVERY_BATCH = 50;
/** How long past its own timeout a started check or attempt holds its slot before a re-run may redo it. */
const LEASE_GRACE_MS = 30_000;
const RECENT_ATTEMPTS = 10;
/** A push the index did not take is tried again this soon (by the alarm). */
const INDEX_RETRY_MS = 30_000;

/** What the sweep's heal did: `rearmed` when the alarm was missing and is set again, `expired` watches past their TTL. */
export type HealResult = { found: boolean; rearmed: boolean; expired: number };

type LookupAnswer = { found: true; view: AssetView } | { found: false };

export class AssetWatcher extends DurableObject<Env> {
	private ready = false;
	private checkInFlight: Promise<CheckOutcome> | null = null;
	/** Watches whose liveness changed since their token's quota object last heard (see flushQuota). */
	private quotaChanges = new Map<string, { owner: string; live: boolean }>();
	private unwatchedCache: { at: number; answer: Promise<Result<LookupAnswer>> } | null = null;

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// An object that was never written stays empty: unwatched lookups leave nothing behind.
		if (hasSchema(ctx.storage)) {
			ctx.blockConcurrencyWhile(async () => this.ensureSchema());
		}
	}

	private get config(): Config {
		return loadConfig(this.env);
	}

	private crun(apiKey: string): CrunSettings {
		return { apiBase: this.config.CRUN_API_BASE, apiKey, timeoutMs: this.config.UPSTREAM_TIMEOUT_MS };
	}

	/** How long a started check or attempt holds its slot before a re-run may redo it. */
	private leaseMs(): number {
		return Math.max(this.config.UPSTREAM_TIMEOUT_MS, this.config.CALLBACK_TIMEOUT_MS) + LEASE_GRACE_MS;
	}

	private get sql() {
		return this.ctx.storage.sql;
	}

	private ensureSchema(): void {
		if (this.ready) return;
		migrate(this.ctx.storage);
		this.ready = true;
	}

	// ---- reads ----------------------------------------------------------------------------

	private asset(): AssetRow | null {
		if (!this.ready) return null;
		return this.sql.exec<AssetRow>("SELECT * FROM asset WHERE id = 1").toArray()[0] ?? null;
	}

	private watch(id: string): WatchRow | null {
		return this.sql.exec<WatchRow>("SELECT * FROM watches WHERE id = ?", id).toArray()[0] ?? null;
	}

	private delivery(watchId: string): DeliveryRow | null {
		return (
			this.sql.exec<DeliveryRow>("SELECT * FROM deliveries WHERE watch_id = ?", watchId).toArray()[0] ?? null
		);
	}

	private countWhere(where: string, ...args: SqlStorageValue[]): number {
		return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM watches WHERE ${where}`, ...args).one().n;
	}

	/** Some watch (any token) still holds state here: the asset is answered from storage. */
	private isWatched(): boolean {
		return this.ready && this.countWhere("state != 'cancelled'") > 0;
	}

	/** Polling runs while the asset is not terminal and some watch still waits for it. */
	private isPolling(a: AssetRow): boolean {
		return !isTerminal(a.status) && a.expired_reason === null && this.countWhere("state = 'watching'") > 0;
	}

	private view(w: WatchRow, a: AssetRow): WatchView {
		const attempts = this.sql
			.exec<AttemptRow>(
				"SELECT attempt, at, status, error, duration_ms FROM attempts WHERE watch_id = ? ORDER BY id DESC LIMIT ?",
				w.id,
				RECENT_ATTEMPTS,
			)
			.toArray();
		return watchView(w, a, this.delivery(w.id), attempts, maxAttempts(this.config.DELIVERY_SCHEDULE_S));
	}

	private ownWatch(id: string, owner: string): WatchRow | null {
		if (!this.ready) return null;
		const w = this.watch(id);
		return w && w.owner === owner ? w : null;
	}

	// ---- RPC ------------------------------------------------------------------------------

	/** The answer a registration gets without a new watch: the same one already here, or the asset's limit. */
	private registerConflict(input: RegisterInput): Result<{ created: boolean; watch: WatchView }> | null {
		const existing = this.sql
			.exec<WatchRow>(
				"SELECT * FROM watches WHERE owner = ? AND callback_url = ? AND state != 'cancelled' ORDER BY created_at LIMIT 1",
				input.owner,
				input.callbackUrl,
			)
			.toArray()[0];
		if (existing) return ok({ created: false, watch: this.view(existing, this.asset() as AssetRow) });

		const limit = this.config.MAX_WATCHES_PER_ASSET;
		if (this.countWhere(LIVE_SQL) >= limit)
			return fail(409, "too_many_watches", `this asset already has ${limit} live watches`);
		return null;
	}

	async register(input: RegisterInput): Promise<Result<{ created: boolean; watch: WatchView }>> {
		this.ensureSchema();
		const now = clock.now();
		const conflict = this.registerConflict(input);
		if (conflict) return conflict;

		const id = newWatchId(input.assetId);
		// MAX_WATCHES_PER_TOKEN spans assets, so the token's quota object holds the count. The slot
		// is reserved before the watch is written; a crash in between leaves a slot its audit frees.
		const quota = await tokenQuota(this.env, input.owner).reserve(id, this.config.MAX_WATCHES_PER_TOKEN);
		if (!quota.ok) return fail(409, "too_many_watches", `this token already has ${quota.live} live watches`);
		// Other calls ran while the quota answered: the same registration may have landed meanwhile.
		const raced = this.registerConflict(input);
		if (raced) {
			this.quotaChanges.set(id, { owner: input.owner, live: false });
			await this.flushQuota();
			return raced;
		}
		this.ctx.storage.transactionSync(() => {
			this.sql.exec(
				"INSERT OR IGNORE INTO asset (id, asset_id, created_at, updated_at) VALUES (1, ?, ?, ?)",
				input.assetId,
				now,
				now,
			);
			this.sql.exec(
				`INSERT INTO watches (id, owner, callback_url, events, metadata, callback_headers, state, created_at, updated_at, expires_at)
				 VALUES (?, ?, ?, ?, ?, ?, 'watching', ?, ?, ?)`,
				id,
				input.owner,
				input.callbackUrl,
				JSON.stringify(input.events),
				JSON.stringify(input.metadata),
				JSON.stringify(input.callbackHeaders),
				now,
				now,
				now + this.config.WATCH_TTL_S * 1000,
			);
			const a = this.asset() as AssetRow;
			const w = this.watch(id) as WatchRow;
			const event = terminalEvent(a.status);
			if (event) {
				// Already terminal: notified at once from what we know, no upstream call.
				this.openEvent(w, a, event, a.terminal_at ?? now, null, now);
			} else if (a.expired_reason !== null || a.next_check_at === null) {
				// First live watch (or a fresh start after the asset was given up on): check now.
				this.sql.exec(
					"UPDATE asset SET expired_reason = NULL, next_check_at = ?, poll_step = 0, not_found_count = 0, not_found_since = NULL, updated_at = ? WHERE id = 1",
					now,
					now,
				);
			}
		});
		await this.arm();
		const a = this.asset() as AssetRow;
		return ok({ created: true, watch: this.view(this.watch(id) as WatchRow, a) });
	}

	async getWatch(id: string, owner: string): Promise<Result<WatchView>> {
		const w = this.ownWatch(id, owner);
		if (!w) return fail(404, "watch_not_found", "no such watch");
		return ok(this.view(w, this.asset() as AssetRow));
	}

	async cancel(id: string, owner: string): Promise<Result<WatchView>> {
		const w = this.ownWatch(id, owner);
		if (!w) return fail(404, "watch_not_found", "no such watch");
		if (w.state !== "cancelled") {
			const now = clock.now();
			this.setWatchState(w.id, "cancelled", now);
			await this.arm();
		}
		return ok(this.view(this.watch(id) as WatchRow, this.asset() as AssetRow));
	}

	async redeliver(id: string, owner: string): Promise<Result<WatchView>> {
		const w = this.ownWatch(id, owner);
		if (!w) return fail(404, "watch_not_found", "no such watch");
		const d = this.delivery(id);
		if (!d || w.state === "cancelled" || w.state === "skipped")
			return fail(
				409,
				"no_event_yet",
				w.state === "cancelled" ? "the watch is cancelled" : "the watch has no event to deliver yet",
			);
		const now = clock.now();
		this.ctx.storage.transactionSync(() => {
			this.sql.exec(
				"UPDATE deliveries SET round_attempts = 0, generation = generation + 1, next_attempt_at = ?, delivered_at = NULL WHERE watch_id = ?",
				now,
				id,
			);
			this.setWatchState(id, "notifying", now);
		});
		await this.arm();
		return ok(this.view(this.watch(id) as WatchRow, this.asset() as AssetRow));
	}

	/**
	 * Status lookup. A watched asset is answered from storage with no upstream call (unless
	 * `refresh`); an unwatched one from one coalesced upstream check, cached for a few seconds,
	 * that writes nothing.
	 */
	async lookup(assetId: string, refresh: boolean): Promise<Result<LookupAnswer>> {
		const now = clock.now();
		const a = this.asset();
		if (a && this.isWatched()) {
			if (refresh) {
				const wait = (a.last_forced_check_at ?? Number.NEGATIVE_INFINITY) + FORCED_CHECK_INTERVAL_MS - now;
				if (wait > 0) return fail(429, "rate_limited", "this asset was refreshed moments ago", wait / 1000);
				this.sql.exec("UPDATE asset SET last_forced_check_at = ? WHERE id = 1", now);
				await this.check();
				await this.runDeliveries();
				await this.arm();
			}
			const fresh = this.asset() as AssetRow;
			return ok({ found: true, view: assetView(fresh, true, this.isPolling(fresh)) });
		}
		const cached = this.unwatchedCache;
		if (cached && now - cached.at < LOOKUP_CACHE_MS) {
			if (refresh)
				return fail(
					429,
					"rate_limited",
					"this asset was checked moments ago",
					(cached.at + LOOKUP_CACHE_MS - now) / 1000,
				);
			return cached.answer;
		}
		const answer = this.lookupUnwatched(assetId);
		this.unwatchedCache = { at: now, answer };
		return answer;
	}

	private async lookupUnwatched(assetId: string): Promise<Result<LookupAnswer>> {
		const key = this.config.CRUN_API_KEY;
		if (!key) return fail(503, "not_configured", "the service is missing configuration: CRUN_API_KEY");
		const outcome = await checkAsset(this.crun(key), assetId);
		const checkedAt = new Date(clock.now()).toISOString();
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
						checked_at: checkedAt,
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
				// A failed check is not worth caching: the next lookup may try again.
				this.unwatchedCache = null;
				return fail(502, "upstream_error", `the upstream could not be checked (${outcome.error})`);
		}
	}

	// ---- the alarm ------------------------------------------------------------------------

	override async alarm(): Promise<void> {
		if (!hasSchema(this.ctx.storage)) return;
		this.ensureSchema();
		// A safety net first: if this run dies mid-way (crash, eviction, deploy), the object
		// wakes again when the leases below run out, whether or not the platform retries.
		await this.ctx.storage.setAlarm(clock.now() + this.leaseMs());
		const steps: [string, () => Promise<void> | void][] = [
			["expire", () => this.expireOverdueWatches(clock.now())],
			["check", () => this.checkIfDue()],
			["deliver", () => this.runDeliveries()],
		];
		let failed = false;
		for (const [name, step] of steps) {
			try {
				await step();
			} catch (err) {
				failed = true;
				console.error(
					JSON.stringify({
						msg: "alarm step failed",
						step: name,
						error: err instanceof Error ? err.message : String(err),
					}),
				);
			}
		}
		// An unexpected failure must not leave the asset without a clock: try again soon.
		await this.arm(failed ? clock.now() + 30_000 : undefined);
	}

	/** Sets the one alarm to the earliest of: next check, next delivery attempt, next TTL expiry. */
	private async arm(atMost?: number, forceIndex = false): Promise<void> {
		// Every path that changes a watch's state ends here, so this is where the quotas hear of it.
		await this.flushQuota();
		const a = this.asset();
		if (!a) return;
		const times: number[] = [];
		if (atMost !== undefined) times.push(atMost);
		if (this.isPolling(a) && a.next_check_at !== null) times.push(a.next_check_at);
		const nextAttempt = this.sql
			.exec<{ t: number | null }>(
				"SELECT MIN(d.next_attempt_at) AS t FROM deliveries d JOIN watches w ON w.id = d.watch_id WHERE w.state = 'notifying'",
			)
			.one().t;
		if (nextAttempt !== null) times.push(nextAttempt);
		const nextExpiry = this.sql
			.exec<{ t: number | null }>("SELECT MIN(expires_at) AS t FROM watches WHERE state = 'watching'")
			.one().t;
		if (nextExpiry !== null) times.push(nextExpiry);
		const due = times.length === 0 ? null : Math.min(...times);
		if (due === null) {
			await this.ctx.storage.deleteAlarm();
		} else {
			const current = await this.ctx.storage.getAlarm();
			if (current !== due) await this.ctx.storage.setAlarm(due);
		}
		await this.publish(due, forceIndex);
	}

	/**
	 * Keeps the asset's index shard current (after the alarm is set: the asset's own clock comes
	 * first). The index being away never fails the caller: the alarm comes back soon to push again.
	 */
	private async publish(due: number | null, force: boolean): Promise<void> {
		if (await publishToIndex(this.ctx.storage, this.env, due, force)) return;
		const retry = clock.now() + INDEX_RETRY_MS;
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > retry) await this.ctx.storage.setAlarm(retry);
	}

	// ---- the sweep's calls ----------------------------------------------------------------

	/**
	 * The sweep found this asset overdue (its lease ran out) or holding a watch past its TTL: expire
	 * what is due, re-arm the alarm for the rest (the alarm does the checks and deliveries, not the
	 * sweep) and re-push the full index entry. Idempotent: a second heal finds nothing to do.
	 */
	async heal(assetId: string, indexedVersion: number): Promise<HealResult> {
		if (!hasSchema(this.ctx.storage)) {
			// Purged (or never written) yet indexed: the index rows are all that is left.
			await removeFromIndex(this.env, assetId, indexedVersion);
			return { found: false, rearmed: false, expired: 0 };
		}
		this.ensureSchema();
		const now = clock.now();
		const before = await this.ctx.storage.getAlarm();
		const expired = this.countWhere("state = 'watching' AND expires_at <= ?", now);
		this.expireOverdueWatches(now);
		// Claimed before anything awaits another object, so a concurrent heal sees an alarm and
		// does not count this one again; arm() then moves it to the real due time (or clears it).
		if (before === null) await this.ctx.storage.setAlarm(now);
		await this.arm(undefined, true);
		const after = await this.ctx.storage.getAlarm();
		return { found: true, rearmed: before === null && after !== null, expired };
	}

	/**
	 * Deletes this asset's storage when every watch finished more than RETENTION_S ago, checked here
	 * (the index may lag), then its index rows. Idempotent: a second purge finds nothing stored.
	 */
	async purge(assetId: string, indexedVersion: number): Promise<{ purged: boolean }> {
		if (!hasSchema(this.ctx.storage)) {
			await removeFromIndex(this.env, assetId, indexedVersion);
			return { purged: false };
		}
		this.ensureSchema();
		const finished = this.asset() ? finishedAt(this.sql) : null;
		if (finished === null || finished > clock.now() - this.config.RETENTION_S * 1000) {
			// Live again (a redelivery or a new watch) or not old enough: the index row was stale.
			await this.arm(undefined, true);
			return { purged: false };
		}
		const version = Math.max(publishedVersion(this.sql), indexedVersion);
		this.ready = false;
		this.unwatchedCache = null;
		await this.ctx.storage.deleteAlarm();
		await this.ctx.storage.deleteAll();
		// If this fails the row still reads purgeable, and the next sweep's purge removes it.
		await removeFromIndex(this.env, assetId, version);
		return { purged: true };
	}

	private expireOverdueWatches(now: number): void {
		const overdue = this.sql
			.exec<WatchRow>("SELECT * FROM watches WHERE state = 'watching' AND expires_at <= ?", now)
			.toArray();
		if (overdue.length === 0) return;
		const a = this.asset() as AssetRow;
		this.ctx.storage.transactionSync(() => {
			for (const w of overdue) this.openEvent(w, a, "watch.expired", now, "ttl", now);
		});
	}

	private async checkIfDue(): Promise<void> {
		const a = this.asset();
		if (!a || !this.isPolling(a) || a.next_check_at === null || a.next_check_at > clock.now()) return;
		await this.check();
	}

	/** One upstream check, shared by the alarm and forced refreshes, applied to storage. */
	private check(): Promise<CheckOutcome> {
		if (!this.checkInFlight) {
			this.checkInFlight = this.runCheck().finally(() => {
				this.checkInFlight = null;
			});
		}
		return this.checkInFlight;
	}

	private async runCheck(): Promise<CheckOutcome> {
		const started = clock.now();
		const key = this.config.CRUN_API_KEY;
		// The lease: if this run dies mid-check, the next alarm (or the sweep) checks again.
		this.sql.exec("UPDATE asset SET next_check_at = ? WHERE id = 1", started + this.leaseMs());
		const outcome: CheckOutcome = key
			? await checkAsset(this.crun(key), (this.asset() as AssetRow).asset_id)
			: { kind: "operator", code: 401, error: "CRUN_API_KEY is not configured" };
		this.applyCheck(outcome, clock.now());
		return outcome;
	}

	private applyCheck(outcome: CheckOutcome, now: number): void {
		const a = this.asset() as AssetRow;
		const s = this.config;
		this.ctx.storage.transactionSync(() => {
			this.sql.exec(
				"UPDATE asset SET checks = checks + 1, checked_at = ?, updated_at = ? WHERE id = 1",
				now,
				now,
			);
			if (isTerminal(a.status)) {
				// Terminal stays terminal: a later answer (even "Processing") changes nothing.
				this.sql.exec("UPDATE asset SET next_check_at = NULL WHERE id = 1");
				return;
			}
			let lastError: string | null = outcome.kind === "ok" ? null : outcome.error;
			if (outcome.kind === "ok") {
				const u = outcome.asset;
				const known = publicStatus(u.status) !== "Unknown";
				if (!known) {
					lastError = `unknown upstream status "${u.status.slice(0, 40)}"`;
					console.warn(
						JSON.stringify({
							msg: "unknown upstream status",
							asset_id: a.asset_id,
							status: u.status.slice(0, 40),
						}),
					);
				}
				this.sql.exec(
					`UPDATE asset SET status = ?, name = ?, asset_type = ?, create_time = ?, update_time = ?,
					 upstream_data = ?, upstream_message = ? WHERE id = 1`,
					known ? u.status : a.status,
					u.name,
					u.assetType,
					u.createTime,
					u.updateTime,
					JSON.stringify(u.data),
					u.message,
				);
			}
			this.sql.exec(
				"UPDATE asset SET last_error = ?, last_error_at = ? WHERE id = 1",
				lastError,
				lastError ? now : a.last_error_at,
			);

			const prev: PollState = {
				step: a.poll_step,
				notFoundCount: a.not_found_count,
				notFoundSince: a.not_found_since,
			};
			const plan = planNextCheck(
				prev,
				outcome,
				now,
				{ initialMs: s.POLL_INITIAL_MS, maxMs: s.POLL_MAX_MS, backoff: s.POLL_BACKOFF },
				clock.random(),
			);
			const fresh = this.asset() as AssetRow;
			if (plan.kind === "again") {
				this.sql.exec(
					"UPDATE asset SET next_check_at = ?, poll_step = ?, not_found_count = ?, not_found_since = ? WHERE id = 1",
					now + plan.delayMs,
					plan.state.step,
					plan.state.notFoundCount,
					plan.state.notFoundSince,
				);
			} else if (plan.kind === "terminal") {
				this.sql.exec("UPDATE asset SET terminal_at = ?, next_check_at = NULL WHERE id = 1", now);
				const event = terminalEvent(fresh.status) as EventType;
				for (const w of this.watchingWatches()) this.openEvent(w, fresh, event, now, null, now);
			} else {
				this.sql.exec("UPDATE asset SET expired_reason = ?, next_check_at = NULL WHERE id = 1", plan.reason);
				for (const w of this.watchingWatches())
					this.openEvent(w, fresh, "watch.expired", now, plan.reason, now);
			}
		});
	}

	private watchingWatches(): WatchRow[] {
		return this.sql.exec<WatchRow>("SELECT * FROM watches WHERE state = 'watching'").toArray();
	}

	private setWatchState(id: string, state: WatchRow["state"], now: number): void {
		const before = this.watch(id);
		const live = isLive(state);
		this.sql.exec(
			"UPDATE watches SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?",
			state,
			now,
			live ? null : now,
			id,
		);
		if (before && isLive(before.state) !== live) this.quotaChanges.set(id, { owner: before.owner, live });
	}

	/**
	 * Tells each token's quota object which of its watches went live (a redelivery) or finished.
	 * Reports are by watch id, so repeating one is harmless; one that cannot be sent is kept for the
	 * next run, and one lost to a crash is healed by the quota's audit.
	 */
	private async flushQuota(): Promise<void> {
		if (this.quotaChanges.size === 0) return;
		const byOwner = new Map<string, [string, { owner: string; live: boolean }][]>();
		for (const entry of this.quotaChanges)
			byOwner.set(entry[1].owner, [...(byOwner.get(entry[1].owner) ?? []), entry]);
		await Promise.all(
			[...byOwner].map(async ([owner, entries]) => {
				try {
					await tokenQuota(this.env, owner).update({
						live: entries.filter(([, c]) => c.live).map(([id]) => id),
						finished: entries.filter(([, c]) => !c.live).map(([id]) => id),
					});
					// A change recorded while the report was in flight stays queued.
					for (const [id, c] of entries) if (this.quotaChanges.get(id) === c) this.quotaChanges.delete(id);
				} catch (err) {
					console.warn(
						JSON.stringify({
							msg: "token quota not updated",
							error: err instanceof Error ? err.message : String(err),
						}),
					);
				}
			}),
		);
	}

	/** Which of `ids` are live here (watching or notifying); the token quotas' audit asks. */
	async liveWatchIds(ids: string[]): Promise<string[]> {
		if (!this.ready) return [];
		return ids.filter((id) => {
			const w = this.watch(id);
			return w !== null && isLive(w.state);
		});
	}

	/**
	 * The event a watch is owed: stored with its exact body and `webhook-id` (due now) when the
	 * watch asked for this type, or the watch is `skipped` when it did not.
	 */
	private openEvent(
		w: WatchRow,
		a: AssetRow,
		type: EventType,
		at: number,
		reason: ExpiryReason | null,
		now: number,
	): void {
		const wanted = (JSON.parse(w.events) as EventType[]).includes(type);
		if (!wanted) {
			this.setWatchState(w.id, "skipped", now);
			return;
		}
		this.sql.exec(
			`INSERT OR IGNORE INTO deliveries (watch_id, webhook_id, event_type, body, next_attempt_at, created_at)
			 VALUES (?, ?, ?, ?, ?, ?)`,
			w.id,
			newWebhookId(),
			type,
			eventBody(type, at, w, a, reason),
			now,
			now,
		);
		this.setWatchState(w.id, "notifying", now);
	}

	// ---- deliveries -----------------------------------------------------------------------

	private async runDeliveries(): Promise<void> {
		const now = clock.now();
		const due = this.sql
			.exec<DeliveryRow & { callback_url: string; callback_headers: string }>(
				`SELECT d.*, w.callback_url, w.callback_headers FROM deliveries d JOIN watches w ON w.id = d.watch_id
				 WHERE w.state = 'notifying' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at LIMIT ?`,
				now,
				DELIVERY_BATCH,
			)
			.toArray();
		if (due.length === 0) return;
		const secrets = this.config.WEBHOOK_SECRETS;
		if (secrets.length === 0 || this.config.invalid.some((i) => i.name === "WEBHOOK_SECRET")) {
			// Nothing can be signed: hold every callback (not counting attempts) until configured.
			for (const d of due)
				this.sql.exec(
					"UPDATE deliveries SET next_attempt_at = ?, last_error = ? WHERE watch_id = ?",
					now + 60_000,
					"WEBHOOK_SECRET is not configured",
					d.watch_id,
				);
			return;
		}
		const timeoutMs = this.config.CALLBACK_TIMEOUT_MS;
		await Promise.all(
			due.map(async (d) => {
				// The lease: written before sending, so a crash mid-send means one more attempt later.
				this.sql.exec(
					"UPDATE deliveries SET next_attempt_at = ? WHERE watch_id = ?",
					now + this.leaseMs(),
					d.watch_id,
				);
				const result = await sendCallback(
					{
						url: d.callback_url,
						webhookId: d.webhook_id,
						body: d.body,
						headers: JSON.parse(d.callback_headers),
					},
					secrets,
					timeoutMs,
					clock.now(),
				);
				this.recordAttempt(d, result, clock.now());
			}),
		);
		// A larger backlog than one batch continues right away in the next alarm run.
	}

	private recordAttempt(d: DeliveryRow, result: Awaited<ReturnType<typeof sendCallback>>, now: number): void {
		const schedule = this.config.DELIVERY_SCHEDULE_S;
		this.ctx.storage.transactionSync(() => {
			const attempt = d.attempts + 1;
			const status = result.kind === "response" ? result.status : null;
			const error =
				result.kind === "error"
					? result.error
					: status !== null && (status < 200 || status > 299)
						? `receiver answered ${status}`
						: null;
			this.sql.exec(
				"INSERT INTO attempts (watch_id, attempt, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
				d.watch_id,
				attempt,
				now,
				status,
				error,
				result.ms,
			);
			this.sql.exec(
				"UPDATE deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1, last_status = ?, last_error = ?, last_attempt_at = ? WHERE watch_id = ?",
				status,
				error,
				now,
				d.watch_id,
			);
			const current = this.watch(d.watch_id);
			const latest = this.delivery(d.watch_id);
			// Cancelled meanwhile, or redelivered (a new round began): the record above is all.
			if (current?.state !== "notifying" || !latest || latest.generation !== d.generation) return;
			const plan = planNextAttempt(d.round_attempts + 1, result, schedule, clock.random());
			switch (plan.kind) {
				case "delivered":
					this.sql.exec(
						"UPDATE deliveries SET next_attempt_at = NULL, delivered_at = ? WHERE watch_id = ?",
						now,
						d.watch_id,
					);
					this.setWatchState(d.watch_id, "delivered", now);
					break;
				case "gone":
					this.sql.exec("UPDATE deliveries SET next_attempt_at = NULL WHERE watch_id = ?", d.watch_id);
					this.setWatchState(d.watch_id, "cancelled", now);
					break;
				case "retry":
					this.sql.exec(
						"UPDATE deliveries SET next_attempt_at = ? WHERE watch_id = ?",
						now + plan.delayMs,
						d.watch_id,
					);
					break;
				case "exhausted":
					this.sql.exec("UPDATE deliveries SET next_attempt_at = NULL WHERE watch_id = ?", d.watch_id);
					this.setWatchState(d.watch_id, "failed", now);
					break;
			}
		});
	}
}

/** The asset object's RPC surface, typed as the class declares it (the stub's own type widens results). */
export type AssetWatcherRpc = Pick<
	AssetWatcher,
	"register" | "getWatch" | "cancel" | "redeliver" | "lookup" | "heal" | "purge"
>;

export function assetWatcher(env: Env, assetId: string): AssetWatcherRpc {
	return env.ASSET_WATCHER.getByName(assetId) as unknown as AssetWatcherRpc;
}
