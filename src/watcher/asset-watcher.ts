// AssetWatcher: one Durable Object per asset id. It owns the asset's watches, polls the upstream
// with one alarm, and delivers every owed callback. All state is in SQLite (store.ts) and each
// change is written before the side effect that depends on it (leases on checks and deliveries),
// so an alarm re-run after a crash at any point sends at most a duplicate and never loses anything.
// This class is the object's table of contents: its RPC methods, its alarm and how it is armed;
// the checks are the check flow's (check-flow.ts: where they stand, the budget, the plan), the
// deliveries the delivery flow's, and what a check or an attempt means is decided by pure
// planners (check-plan.ts, delivery-flow.ts).

import { DurableObject } from "cloudflare:workers";
import { clock } from "../core/clock";
import { type Config, loadConfig } from "../core/config";
import { newWatchId } from "../core/ids";
import { errorText, logEvent } from "../core/log";
import { countedEnv, countingObjectCalls, noteObjectCall } from "../core/object-calls";
import { maxAttempts } from "../delivery/retry-policy";
import { teachModel } from "../poll-model/snapshots";
import type { IndexKey } from "../watch-index/watch-index";
import { budgetedCall, CheckFlow } from "./check-flow";
import { Deliveries, type OriginRef, type ProbeAnswer } from "./delivery-flow";
import { PushedState, publishToIndex, removeFromIndex } from "./index-sync";
import {
	type LookupAnswer,
	lookupWatched,
	UnwatchedLookups,
	upstreamBusy,
	type WatchedAsset,
} from "./lookup";
import { hasSchema } from "./migrations";
import { type RedeliveryMatch, redeliveryRefusal } from "./redelivery";
import { fail, ok, type Result } from "./result";
import type { AssetRow, RegisterInput, WatchRow } from "./rows";
import { StatusWaiters } from "./status-waiters";
import { AssetStore } from "./store";
import { type WatchView, watchView } from "./views";

/** How long past its own timeout a started check or attempt holds its slot before a re-run may redo it. */
const LEASE_GRACE_MS = 30_000;
/** A push the index did not take is tried again this soon (by the alarm). */
const INDEX_RETRY_MS = 30_000;
/** After an alarm step failed unexpectedly, the object wakes again this soon. */
const FAILED_RUN_RETRY_MS = 30_000;

/** What the sweep's heal did: `rearmed` when the alarm was missing and is set again, `expired` watches past their TTL. */
export type HealResult = { found: boolean; rearmed: boolean; expired: number };

type Registered = { created: boolean; watch: WatchView };

export class AssetWatcher extends DurableObject<Env> {
	/** What this instance knows its index shard holds (memory only: see index-sync.ts). */
	private readonly pushed = new PushedState();
	private readonly store = new AssetStore(this.ctx.storage, (change) => {
		this.changed = true;
		this.pushed.touched(change.id);
	});
	private readonly unwatched = new UnwatchedLookups();
	private readonly waiters = new StatusWaiters();
	private readonly checks = new CheckFlow(this.env, this.ctx.storage, this.store, () => this.config, {
		statusChanged: () => {
			this.changed = true;
		},
	});
	private readonly deliveries = new Deliveries(this.store, () => this.env, this.arm.bind(this));
	/** Something the index shows changed since the last push (memory only: see index-sync.ts). */
	private changed = false;
	/** What a watched lookup (lookup.ts) may do with this object. */
	private readonly watchedAsset: WatchedAsset = {
		store: this.store,
		waiters: this.waiters,
		checking: () => this.checks.checking(),
		progress: (a) => this.checks.current(a),
		forceCheck: async () => {
			const now = clock.now();
			const outcome = await this.checks.check(true);
			if (outcome.kind === "busy") return upstreamBusy(outcome);
			await this.deliveries.due();
			await this.arm(now);
			this.ctx.waitUntil(this.teach());
			return null;
		},
	};

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		// The bench counts the calls this object makes (never in production: the var is unset).
		if (countingObjectCalls(env)) this.env = countedEnv(env);
		// An object that was never written stays empty: unwatched lookups leave nothing behind.
		if (hasSchema(ctx.storage)) ctx.blockConcurrencyWhile(async () => this.store.ensureSchema());
	}

	private get config(): Config {
		return loadConfig(this.env);
	}

	/** How long a started check or attempt holds its slot before a re-run may redo it. */
	private leaseMs(): number {
		return Math.max(this.config.UPSTREAM_TIMEOUT_MS, this.config.CALLBACK_TIMEOUT_MS) + LEASE_GRACE_MS;
	}

	private view(w: WatchRow, a: AssetRow): WatchView {
		return watchView(w, a, maxAttempts(this.config.DELIVERY_SCHEDULE_S));
	}

	/** The view of watch `id` as it is now (after a write). */
	private current(id: string): WatchView {
		return this.view(this.store.watch(id) as WatchRow, this.store.asset() as AssetRow);
	}

	// ---- RPC: watches ---------------------------------------------------------------------

	/** The answer a registration gets without a new watch: the same one already here, or the asset's limit. */
	private registerConflict(input: RegisterInput): Result<Registered> | null {
		const existing = this.store.registeredWatch(input.owner, input.callbackUrl);
		if (existing) return ok({ created: false, watch: this.view(existing, this.store.asset() as AssetRow) });
		const limit = this.config.MAX_WATCHES_PER_ASSET;
		if (this.store.liveCount() >= limit)
			return fail(409, "too_many_watches", `this asset already has ${limit} live watches`);
		return null;
	}

	/**
	 * Registers a watch, or answers the same registration already here. `tokenFull`: the token is at
	 * MAX_WATCHES_PER_TOKEN (the worker counts that, src/http/watch-quota.ts), so only an existing
	 * watch is answered. No await from the checks to the write: two equal registrations make one watch.
	 */
	async register(
		input: RegisterInput,
		tokenFull: { live: number } | null = null,
	): Promise<Result<Registered>> {
		this.store.ensureSchema();
		const now = clock.now();
		const conflict = this.registerConflict(input);
		if (conflict) return conflict;
		if (tokenFull)
			return fail(409, "too_many_watches", `this token already has ${tokenFull.live} live watches`);

		const id = newWatchId(input.assetId);
		const { restarted } = this.store.addWatch(
			{ ...input, id, expiresAt: now + this.config.WATCH_TTL_S * 1000 },
			now,
		);
		// Polling starts afresh (the asset was given up on): where the checks stood is forgotten.
		if (restarted) this.checks.forget();
		// One object hop: the alarm, due now, does the first check (or sends what a terminal asset
		// owes) and pushes the new watch to the index (this instance remembers it changed; an
		// object evicted before that pushes on its first status change or lease renewal).
		await this.wakeBy(now);
		return ok({ created: true, watch: this.current(id) });
	}

	async getWatch(id: string, owner: string): Promise<Result<WatchView>> {
		const w = this.store.ownWatch(id, owner);
		if (!w) return fail(404, "watch_not_found", "no such watch");
		return ok(this.view(w, this.store.asset() as AssetRow));
	}

	async cancel(id: string, owner: string): Promise<Result<WatchView>> {
		const w = this.store.ownWatch(id, owner);
		if (!w) return fail(404, "watch_not_found", "no such watch");
		if (w.state !== "cancelled") {
			const now = clock.now();
			this.store.cancelWatch(w, now);
			await this.arm(now);
		}
		return ok(this.current(id));
	}

	/** Sends the watch's event again; with `only`, just when it still matches (a bulk redelivery). */
	async redeliver(id: string, owner: string, only?: RedeliveryMatch): Promise<Result<WatchView>> {
		const w = this.store.ownWatch(id, owner);
		const refused = redeliveryRefusal(w, only);
		if (refused || !w) return refused ?? fail(404, "watch_not_found", "no such watch");
		const now = clock.now();
		this.store.restartDelivery(w, now);
		await this.arm(now);
		return ok(this.current(id));
	}

	// ---- RPC: status lookups --------------------------------------------------------------

	/**
	 * Status lookup. A watched asset is answered from storage with no upstream call (unless
	 * `refresh`), after waiting up to `waitMs` for its status to settle when asked (`Prefer: wait`);
	 * an unwatched one from one coalesced upstream check, cached for a few seconds, that writes nothing.
	 */
	async lookup(assetId: string, refresh: boolean, waitMs = 0): Promise<Result<LookupAnswer>> {
		const now = clock.now();
		const a = this.store.asset();
		if (!a || !this.store.isWatched())
			return this.unwatched.lookup(
				assetId,
				refresh,
				now,
				() => budgetedCall(this.checks.permits, this.config),
				clock.now,
			);
		return lookupWatched(this.watchedAsset, a, { refresh, waitMs }, now);
	}

	// ---- the alarm ------------------------------------------------------------------------

	override async alarm(): Promise<void> {
		if (countingObjectCalls(this.env)) noteObjectCall();
		if (!hasSchema(this.ctx.storage)) return;
		this.store.ensureSchema();
		const runAt = clock.now();
		const a = this.store.asset();
		if (!a) return;
		// The lease first: the next check after the one due now (a run that dies mid-check checks
		// again then), and soon for other work due now; the platform's retries need not happen. A
		// run with nothing due (a registration's index push) has no lease to guard.
		const polling = this.store.isPolling(a);
		const check = polling ? await this.checks.leaseFor(a, runAt) : null;
		const work = this.store.workDue(runAt) ? runAt + this.leaseMs() : null;
		const lease = [check, work, this.store.nextDue(null)]
			.filter((t): t is number => t !== null && t > runAt)
			.reduce((x, y) => Math.min(x, y), Number.POSITIVE_INFINITY);
		if (Number.isFinite(lease)) {
			this.checks.settle(a, polling, lease, check);
			await this.ctx.storage.setAlarm(lease);
		}
		const steps: [string, () => Promise<void> | void][] = [
			["expire", () => this.expireOverdueWatches(clock.now())],
			["check", () => this.checks.runDue(clock.now())],
			["deliver", () => this.deliveries.due()],
			["learn", () => this.teach()],
		];
		let failed = false;
		for (const [name, step] of steps) {
			try {
				await step();
			} catch (err) {
				failed = true;
				logEvent("error", "alarm step failed", { step: name, error: errorText(err) });
			}
		}
		// An unexpected failure must not leave the asset without a clock: try again soon.
		await this.arm(runAt, failed ? clock.now() + FAILED_RUN_RETRY_MS : undefined, false, true);
	}

	/** What a finished asset teaches its type's model: one call, after its callbacks (a lost one is fine). */
	private async teach(): Promise<void> {
		const sample = this.checks.takeSample();
		if (sample) await teachModel(this.env, sample);
	}

	/** The alarm fires by `at` at the latest (it is only ever brought forward here). */
	private async wakeBy(at: number): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (current !== null && current <= at) return;
		const a = this.store.asset() as AssetRow;
		// Where the checks stand, read from the alarm before it moves, and written if it moves off them.
		await this.checks.current(a);
		this.checks.settle(a, this.store.isPolling(a), at);
		await this.ctx.storage.setAlarm(at);
	}

	/**
	 * Sets the one alarm to the earliest of: next check, next delivery attempt, next TTL expiry;
	 * then tells the index what it must know. `runAt` is when the calling run began. An alarm run
	 * that leaves nothing due does not delete the lease it set: that alarm fires once more and finds
	 * nothing (a request, $0.15/M, instead of a delete billed as a row, $1/M).
	 */
	private async arm(runAt: number, atMost?: number, forceIndex = false, fromAlarm = false): Promise<void> {
		const a = this.store.asset();
		if (!a) return;
		// Polling ended (cancelled, expired, terminal): waiting lookups have nothing more to wait for.
		if (!this.store.isPolling(a)) this.waiters.wake();
		const next = this.store.nextDue((await this.checks.current(a)).nextCheckAt);
		const due = atMost === undefined ? next : Math.min(atMost, next ?? atMost);
		this.checks.settle(this.store.asset() as AssetRow, this.store.isPolling(a), due);
		if (due === null) {
			if (!fromAlarm) await this.ctx.storage.deleteAlarm();
		} else if ((await this.ctx.storage.getAlarm()) !== due) {
			await this.ctx.storage.setAlarm(due);
		}
		await this.publish(due, runAt, forceIndex);
	}

	/**
	 * Keeps the asset's index shard current (after the alarm is set: the asset's own clock comes
	 * first). The index being away never fails the caller: the alarm comes back soon to push again.
	 */
	private async publish(due: number | null, runAt: number, force: boolean): Promise<void> {
		const changed = this.changed;
		this.changed = false;
		const request = { due, runAt, changed, force, retentionMs: this.config.RETENTION_S * 1000 };
		if (!(await publishToIndex(this.env, this.store, request, this.pushed)))
			await this.wakeBy(clock.now() + INDEX_RETRY_MS);
	}

	private expireOverdueWatches(now: number): void {
		// An event a finished asset owes comes first: its watch is past expiring.
		this.store.transaction(() => this.store.openOwedEvents(now));
		const overdue = this.store.overdueWatches(now);
		if (overdue.length === 0) return;
		const a = this.store.asset() as AssetRow;
		this.store.transaction(() => {
			for (const w of overdue)
				this.store.openEvent(w, { type: "watch.expired", at: now, reason: "ttl" }, a, now);
		});
	}

	// ---- RPC: a paused receiver origin's probe of one delivery, its resume of all (docs/delivery.md)

	async probeOrigin(ref: OriginRef, watchId: string): Promise<ProbeAnswer> {
		return this.deliveries.probe(ref, watchId);
	}

	async resumeOrigin(ref: OriginRef): Promise<number> {
		return this.deliveries.resume(ref);
	}

	// ---- RPC: the sweep's calls -----------------------------------------------------------

	/**
	 * The sweep found this asset overdue (its lease ran out) or holding a watch past its TTL: expire
	 * what is due, re-arm the alarm for the rest (the alarm does the checks and deliveries, not the
	 * sweep) and re-push the full index entry. Idempotent: a second heal finds nothing to do.
	 */
	async heal(assetId: string, keys: IndexKey[], indexedVersion: number): Promise<HealResult> {
		if (!hasSchema(this.ctx.storage)) {
			// Purged (or never written) yet indexed: the index rows are all that is left.
			await removeFromIndex(this.env, assetId, keys, indexedVersion);
			return { found: false, rearmed: false, expired: 0 };
		}
		this.store.ensureSchema();
		const now = clock.now();
		const before = await this.ctx.storage.getAlarm();
		const expired = this.store.overdueWatches(now).length;
		this.expireOverdueWatches(now);
		// Where the checks stand is read before a lost alarm is replaced (it cannot say more than the row).
		await this.checks.current(this.store.asset() as AssetRow);
		// Claimed before anything awaits another object, so a concurrent heal sees an alarm and
		// does not count this one again; arm() then moves it to the real due time (or clears it).
		if (before === null) await this.ctx.storage.setAlarm(now);
		await this.arm(now, undefined, true);
		const after = await this.ctx.storage.getAlarm();
		return { found: true, rearmed: before === null && after !== null, expired };
	}

	/**
	 * Deletes this asset's storage when every watch finished more than RETENTION_S ago, checked here
	 * (the index may lag), then its index rows. Idempotent: a second purge finds nothing stored.
	 */
	async purge(assetId: string, keys: IndexKey[], indexedVersion: number): Promise<{ purged: boolean }> {
		if (!hasSchema(this.ctx.storage)) {
			await removeFromIndex(this.env, assetId, keys, indexedVersion);
			return { purged: false };
		}
		this.store.ensureSchema();
		const now = clock.now();
		const finished = this.store.finishedAt();
		if (finished === null || finished > now - this.config.RETENTION_S * 1000) {
			// Live again (a redelivery or a new watch) or not old enough: the index row was stale.
			await this.arm(now, undefined, true);
			return { purged: false };
		}
		// Every row of this asset, whether the sweep saw it or not; up to now, so a later generation stays.
		const own = this.store.allWatches().map((w) => ({ owner: w.owner, created_at: w.created_at, id: w.id }));
		this.unwatched.forget();
		this.checks.forget();
		this.pushed.forget();
		await this.store.deleteAll();
		// If this fails the rows still read purgeable, and the next sweep's purge removes them.
		await removeFromIndex(this.env, assetId, [...own, ...keys], Math.max(now, indexedVersion));
		return { purged: true };
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
