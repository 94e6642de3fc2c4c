// ReceiverOrigin: one Durable Object per (owner, receiver origin), named by a hash of the two. It
// holds the origin's circuit (healthy / failing / paused, consecutive failures, last error and
// success) and, while paused, the deliveries waiting for it. Asset objects report failed attempts
// (and successes when they may clear failures); the answer tells them to hold. Its alarm sends one
// probe per RECEIVER_PROBE_S through a waiting asset, and when one succeeds makes every waiting
// delivery due, a bounded number of assets at a time. The asset rows stay the truth: a waiter this
// object loses still comes back on its own alarm (src/receivers/circuit.ts `holdCheckIn`).

import { DurableObject } from "cloudflare:workers";
import { inBatches } from "../core/batches";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { errorText, logEvent } from "../core/log";
import { firstRow, migrate } from "../core/sql";
import {
	type AttemptVerdict,
	afterAttempt,
	afterProbeFailure,
	type CircuitRow,
	type CircuitSettings,
} from "./circuit";
import type { OriginAnswer } from "./known-origins";
import { type OriginRef, originObjectName } from "./origin";
import { receiverDirectory } from "./receiver-directory";

/** A delivery waiting for this origin: the watch, and the asset object that holds it. */
export interface Waiter {
	asset_id: string;
	watch_id: string;
}

/** What a waiting asset answers a probe: it sent the attempt (and how it went), or it no longer waits. */
export type ProbeAnswer = { kind: "sent"; verdict: AttemptVerdict } | { kind: "not_waiting" };

/** What this object calls on the asset objects that wait for it (the AssetWatcher implements it). */
export interface WaitingAssetRpc {
	/** Sends the waiting delivery `watchId` once, now, as the probe. */
	probeOrigin(ref: OriginRef, watchId: string): Promise<ProbeAnswer>;
	/** The origin is back: every delivery of this asset waiting for it is due now. */
	resumeOrigin(ref: OriginRef): Promise<number>;
}

/** The origin as `GET /v1/receivers` shows it (times in ms). */
export type OriginRecord = CircuitRow & { origin: string; pending: number };

type OriginRow = CircuitRow & { owner: string; origin: string; listed: number };

/** Waiting assets resumed at once, and per alarm run (the rest follow in the next run, at once). */
const DRAIN_CONCURRENCY = 10;
const DRAIN_PER_RUN = 200;
/** An asset that did not take its resume is called again this soon (its own alarm is the fallback). */
const DRAIN_RETRY_MS = 30_000;
/** Waiters offered the probe per run, when the first ones no longer wait. */
const PROBE_CANDIDATES = 3;

const MIGRATIONS = [
	{
		name: "0001_origin",
		sql: `
CREATE TABLE origin (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	owner TEXT NOT NULL,
	origin TEXT NOT NULL,
	state TEXT NOT NULL,
	failures INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	last_error_at INTEGER,
	last_success_at INTEGER,
	paused_at INTEGER,
	probe_at INTEGER,
	listed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE waiters (
	asset_id TEXT NOT NULL,
	watch_id TEXT NOT NULL,
	since INTEGER NOT NULL,
	probed_at INTEGER,
	PRIMARY KEY (asset_id, watch_id)
) WITHOUT ROWID;
`,
	},
];

const answerOf = (r: CircuitRow): OriginAnswer => ({
	state: r.state,
	failures: r.failures,
	probe_at: r.probe_at,
});

export class ReceiverOrigin extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, { migrations: MIGRATIONS, baseline: null }));
	}

	private get sql() {
		return this.ctx.storage.sql;
	}

	private settings(): CircuitSettings {
		const c = loadConfig(this.env);
		return { tripFailures: c.RECEIVER_TRIP_FAILURES, probeMs: c.RECEIVER_PROBE_S * 1000 };
	}

	private row(): OriginRow | null {
		return firstRow(this.sql.exec<OriginRow>("SELECT * FROM origin WHERE id = 1"));
	}

	/**
	 * The row as it is now, created on the first call (and the origin added to its owner's
	 * directory). Read after the directory call: other calls may have changed it meanwhile, and the
	 * caller's read-modify-write must start from what is stored.
	 */
	private async ensure(ref: OriginRef): Promise<OriginRow> {
		let row = this.row();
		if (!row) {
			this.sql.exec(
				"INSERT INTO origin (id, owner, origin, state) VALUES (1, ?, ?, 'healthy')",
				ref.owner,
				ref.origin,
			);
			row = this.row() as OriginRow;
		}
		if (row.listed === 0) {
			try {
				await receiverDirectory(this.env, ref.owner).add(ref.origin);
				this.sql.exec("UPDATE origin SET listed = 1 WHERE id = 1");
			} catch (err) {
				// Listed on a later call; the circuit works meanwhile.
				logEvent("warn", "receiver directory add failed", { error: errorText(err) });
			}
		}
		return this.row() as OriginRow;
	}

	private update(set: Partial<CircuitRow>): void {
		const names = Object.keys(set) as (keyof CircuitRow)[];
		if (names.length === 0) return;
		this.sql.exec(
			`UPDATE origin SET ${names.map((n) => `${n} = ?`).join(", ")} WHERE id = 1`,
			...names.map((n) => set[n] as SqlStorageValue),
		);
	}

	private addWaiters(waiters: readonly Waiter[], now: number): void {
		for (const w of waiters)
			this.sql.exec(
				"INSERT OR IGNORE INTO waiters (asset_id, watch_id, since) VALUES (?, ?, ?)",
				w.asset_id,
				w.watch_id,
				now,
			);
	}

	private async alarmNoLaterThan(at: number): Promise<void> {
		const current = await this.ctx.storage.getAlarm();
		if (current === null || current > at) await this.ctx.storage.setAlarm(at);
	}

	/**
	 * One attempt's outcome from an asset object. A failure that leaves the origin paused adds
	 * `waiter` (the delivery that will retry) to the deliveries waiting for it; a success that ends
	 * a pause makes them due. The answer is the state the asset should act on.
	 */
	async report(ref: OriginRef, verdict: AttemptVerdict, waiter: Waiter | null): Promise<OriginAnswer> {
		const row = await this.ensure(ref);
		const now = clock.now();
		const step = afterAttempt(row, verdict, now, this.settings());
		this.update(step.set);
		const after = { ...row, ...step.set };
		if (step.paused)
			logEvent("warn", "receiver origin paused", { origin: ref.origin, failures: after.failures });
		if (after.state === "paused" && waiter) {
			this.addWaiters([waiter], now);
			await this.alarmNoLaterThan(after.probe_at ?? now);
		}
		// The drain runs in the alarm, so the asset that reported is not held up by it.
		if (step.resumed) await this.ctx.storage.setAlarm(now);
		return answerOf(after);
	}

	/** Deliveries about to be sent while their asset believes this origin paused: held if it is. */
	async hold(ref: OriginRef, waiters: Waiter[]): Promise<OriginAnswer> {
		const row = await this.ensure(ref);
		if (row.state !== "paused") return answerOf(row);
		const now = clock.now();
		this.addWaiters(waiters, now);
		// A pause with nobody waiting keeps no alarm; the first new waiter brings the probes back.
		await this.alarmNoLaterThan(Math.max(row.probe_at ?? now, now));
		return answerOf(row);
	}

	/** Deliveries that no longer wait (they gave up after the schedule's span). */
	async forget(waiters: Waiter[]): Promise<void> {
		for (const w of waiters)
			this.sql.exec("DELETE FROM waiters WHERE asset_id = ? AND watch_id = ?", w.asset_id, w.watch_id);
	}

	/** The origin's state and its waiting deliveries, or null when nothing was ever reported. */
	async record(): Promise<OriginRecord | null> {
		const row = this.row();
		if (!row) return null;
		const pending = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n;
		return {
			origin: row.origin,
			state: row.state,
			failures: row.failures,
			last_error: row.last_error,
			last_error_at: row.last_error_at,
			last_success_at: row.last_success_at,
			paused_at: row.paused_at,
			probe_at: row.probe_at,
			pending,
		};
	}

	// ---- the alarm: probes while paused, the drain once it is not ------------------------------

	override async alarm(): Promise<void> {
		const row = this.row();
		if (!row) return;
		const ref = { owner: row.owner, origin: row.origin };
		if (row.state === "paused") await this.probe(ref, row);
		if ((this.row() as OriginRow).state !== "paused") await this.drain(ref);
	}

	/** One probe: a waiting delivery sent once, by its asset, now. */
	private async probe(ref: OriginRef, row: OriginRow): Promise<void> {
		const now = clock.now();
		if (row.probe_at !== null && row.probe_at > now) {
			await this.ctx.storage.setAlarm(row.probe_at);
			return;
		}
		const s = this.settings();
		// The next probe's time first: if this run dies mid-probe, the alarm probes again then.
		const next = now + s.probeMs;
		this.update({ probe_at: next });
		await this.ctx.storage.setAlarm(next);
		const candidates = this.sql
			.exec<Waiter & Record<string, SqlStorageValue>>(
				"SELECT asset_id, watch_id FROM waiters ORDER BY probed_at IS NOT NULL, probed_at, since LIMIT ?",
				PROBE_CANDIDATES,
			)
			.toArray();
		if (candidates.length === 0) {
			// Nobody waits: no probes until someone does (hold() sets the alarm again).
			await this.ctx.storage.deleteAlarm();
			return;
		}
		for (const w of candidates) {
			// Probes take turns, so one delivery the receiver refuses for its own reasons cannot keep the rest waiting.
			this.sql.exec(
				"UPDATE waiters SET probed_at = ? WHERE asset_id = ? AND watch_id = ?",
				now,
				w.asset_id,
				w.watch_id,
			);
			let answer: ProbeAnswer;
			try {
				answer = await waitingAsset(this.env, w.asset_id).probeOrigin(ref, w.watch_id);
			} catch (err) {
				// Says nothing about the receiver: the next probe is already set.
				logEvent("warn", "receiver probe failed to run", { error: errorText(err) });
				return;
			}
			if (answer.kind === "not_waiting") {
				await this.forget([w]);
				continue;
			}
			// Re-read: reports may have come in while the probe was out.
			const current = this.row() as OriginRow;
			if (answer.verdict.ok) {
				await this.forget([w]);
				this.update(afterAttempt(current, answer.verdict, clock.now(), s).set);
				logEvent("info", "receiver origin resumed", {
					origin: ref.origin,
					paused_ms: clock.now() - (current.paused_at ?? now),
				});
			} else if (current.state === "paused") {
				this.update(afterProbeFailure(current, answer.verdict.error, clock.now(), s));
			} else {
				// A success reported meanwhile ended the pause: this failure counts like any other.
				this.update(afterAttempt(current, answer.verdict, clock.now(), s).set);
			}
			return;
		}
	}

	/** Every waiting delivery due now: each waiting asset called once, a few at a time. */
	private async drain(ref: OriginRef): Promise<void> {
		const assets = this.sql
			.exec<{ asset_id: string }>("SELECT DISTINCT asset_id FROM waiters LIMIT ?", DRAIN_PER_RUN)
			.toArray()
			.map((r) => r.asset_id);
		if (assets.length === 0) return;
		// If this run dies mid-way, the alarm drains the rest then (resuming twice is harmless).
		await this.ctx.storage.setAlarm(clock.now() + DRAIN_RETRY_MS);
		let failed = 0;
		await inBatches(assets, DRAIN_CONCURRENCY, async (assetId) => {
			try {
				await waitingAsset(this.env, assetId).resumeOrigin(ref);
				this.sql.exec("DELETE FROM waiters WHERE asset_id = ?", assetId);
			} catch (err) {
				failed++;
				logEvent("warn", "receiver resume failed", { error: errorText(err) });
			}
		});
		const left = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM waiters").one().n;
		if (left === 0) await this.ctx.storage.deleteAlarm();
		else if (failed === 0) await this.ctx.storage.setAlarm(clock.now());
	}
}

function waitingAsset(env: Env, assetId: string): WaitingAssetRpc {
	return env.ASSET_WATCHER.getByName(assetId) as unknown as WaitingAssetRpc;
}

/** The origin object's RPC surface, typed as the class declares it. */
export type ReceiverOriginRpc = Pick<ReceiverOrigin, "report" | "hold" | "forget" | "record">;

export async function receiverOrigin(env: Env, ref: OriginRef): Promise<ReceiverOriginRpc> {
	return env.RECEIVER_ORIGIN.getByName(await originObjectName(ref)) as unknown as ReceiverOriginRpc;
}
