// The asset object's delivery flow: which callbacks are due, sent concurrently, and each answer
// recorded in one write. Nothing is written before a send: the owed event (its body and
// `webhook-id`) is already stored, and the alarm run that sends is itself the lease (the object set
// its alarm before starting), so a crash mid-send means one more attempt later, never none; within
// one instance an attempt in flight is not started twice. What an answer means for the watch is
// decided by `planAttemptRecord`, a pure planner over the retry policy (src/delivery/retry-policy.ts).
//
// Receiver origins (docs/delivery.md): a failed attempt is reported to its (owner, origin) object,
// whose answer may say the origin is paused; the delivery is then held in its own row, spending no
// attempts, until the origin's probe succeeds and makes it due (`resumeHeld`), or its own alarm
// looks again (`holdCheckIn`), or it has waited the schedule's whole span and fails. A probe is one
// held delivery sent at the origin object's request (`probeHeld`); it is not counted in the schedule.

import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { type AttemptResult, planNextAttempt, scheduleSpanMs } from "../delivery/retry-policy";
import { sendCallback } from "../delivery/send";
import { type Signing, signingFor } from "../delivery/signing";
import { type AttemptVerdict, holdCheckIn, holdExpired } from "../receivers/circuit";
import { knownPaused, learn, successWorthReporting } from "../receivers/known-origins";
import { type OriginRef, originOf, refKey } from "../receivers/origin";
import type { ProbeAnswer, Waiter } from "../receivers/receiver-origin";

export type { OriginRef, ProbeAnswer };

import { type OriginLink, originLink } from "../receivers/reports";
import {
	type AssetRow,
	type AttemptOutcome,
	type AttemptRow,
	type DeliveryRow,
	hasDelivery,
	type WatchRow,
} from "./rows";
import type { AssetStore } from "./store";

/** Deliveries sent concurrently by one alarm run; the rest follow in an immediate re-run. */
export const DELIVERY_BATCH = 50;
/** While nothing can be signed, owed callbacks wait this long between looks (no attempt counted). */
const UNSIGNED_HOLD_MS = 60_000;
/** What a delivery that waited for its paused origin longer than the schedule's span ends with. */
export const HOLD_EXPIRED_ERROR = "the receiver origin stayed paused longer than the whole retry schedule";

export type SentAttempt = AttemptResult & { ms: number };

export interface AttemptRecord {
	attempt: AttemptRow;
	outcome: AttemptOutcome;
}

/**
 * What one attempt's answer writes. `sent` is the watch as it was when the attempt started, and
 * `current` as it is now: a watch cancelled meanwhile, or redelivered (a new round began), only
 * gets the attempt recorded.
 */
export function planAttemptRecord(
	sent: DeliveryRow,
	current: WatchRow,
	result: SentAttempt,
	scheduleS: readonly number[],
	rand: number,
	now: number,
): AttemptRecord {
	const status = result.kind === "response" ? result.status : null;
	const error =
		result.kind === "error"
			? result.error
			: status !== null && (status < 200 || status > 299)
				? `receiver answered ${status}`
				: null;
	const attempt = { attempt: current.attempts + 1, at: now, status, error, duration_ms: result.ms };
	if (current.state !== "notifying" || current.generation !== sent.generation)
		return { attempt, outcome: { kind: "record" } };
	const plan = planNextAttempt(current.round_attempts + 1, result, scheduleS, rand);
	switch (plan.kind) {
		case "delivered":
			return { attempt, outcome: { kind: "end", deliveredAt: now, state: "delivered" } };
		case "gone":
			return { attempt, outcome: { kind: "end", deliveredAt: null, state: "cancelled" } };
		case "retry":
			return { attempt, outcome: { kind: "retry", at: now + plan.delayMs } };
		case "exhausted":
			return { attempt, outcome: { kind: "end", deliveredAt: null, state: "failed" } };
	}
}

/** What an attempt says of its receiver origin: a 2xx or a 410 came from a receiver that is up. */
export function verdictOf(result: AttemptResult): AttemptVerdict {
	if (result.kind === "error") return { ok: false, error: result.error };
	if ((result.status >= 200 && result.status <= 299) || result.status === 410) return { ok: true };
	return { ok: false, error: `receiver answered ${result.status}` };
}

export interface DeliverySettings {
	/** the secrets that sign a watch's callbacks, by the client it was registered by */
	signing: (client: string | null) => Signing;
	timeoutMs: number;
	scheduleS: readonly number[];
	/** the schedule's whole span: a delivery held for its origin longer than this fails */
	spanMs: number;
	probeMs: number;
	origins: OriginLink;
	send: typeof sendCallback;
	now: () => number;
	random: () => number;
}

/** The delivery settings from the configuration; nothing is sent unsigned. */
export function deliverySettings(env: Env): DeliverySettings {
	const c = loadConfig(env);
	return {
		signing: (client) => signingFor(c, client),
		timeoutMs: c.CALLBACK_TIMEOUT_MS,
		scheduleS: c.DELIVERY_SCHEDULE_S,
		spanMs: scheduleSpanMs(c.DELIVERY_SCHEDULE_S),
		probeMs: c.RECEIVER_PROBE_S * 1000,
		origins: originLink(env),
		send: sendCallback,
		now: clock.now,
		random: clock.random,
	};
}

const refOf = (w: Pick<WatchRow, "owner" | "callback_url">): OriginRef => ({
	owner: w.owner,
	origin: originOf(w.callback_url),
});
const waiterOf = (assetId: string, w: Pick<WatchRow, "id">): Waiter => ({
	asset_id: assetId,
	watch_id: w.id,
});

/** Sends every due callback (at most one batch) not already in flight, and records each answer. */
export async function deliverDue(
	store: AssetStore,
	s: DeliverySettings,
	inFlight: Set<string>,
): Promise<void> {
	const now = s.now();
	const due = store.dueDeliveries(now, DELIVERY_BATCH).filter((d) => !inFlight.has(d.id));
	if (due.length === 0) return;
	const assetId = (store.asset() as AssetRow).asset_id;
	const send: DeliveryRow[] = [];
	/** Deliveries whose origin may be paused, by origin: one question per origin, before any is sent. */
	const ask = new Map<string, { ref: OriginRef; rows: DeliveryRow[] }>();
	const expired: DeliveryRow[] = [];
	for (const d of due) {
		const signing = s.signing(d.client);
		if ("unsigned" in signing) {
			// Nothing can sign it: hold it (not counting attempts) until configured.
			store.holdDelivery(d.id, now + UNSIGNED_HOLD_MS, signing.unsigned);
			continue;
		}
		const ref = refOf(d);
		if (d.held_since !== null && holdExpired(d.held_since, now, s.spanMs)) expired.push(d);
		else if (d.held_since !== null || knownPaused(ref)) {
			const group = ask.get(refKey(ref)) ?? { ref, rows: [] };
			group.rows.push(d);
			ask.set(refKey(ref), group);
		} else send.push(d);
	}
	if (expired.length > 0) {
		store.transaction(() => {
			for (const d of expired) store.giveUpHeld(d, now, HOLD_EXPIRED_ERROR);
		});
		for (const d of expired) await s.origins.forget(refOf(d), [waiterOf(assetId, d)]);
	}
	for (const { ref, rows } of ask.values()) {
		const answer = await s.origins.hold(
			ref,
			rows.map((d) => waiterOf(assetId, d)),
			now,
		);
		if (answer?.state !== "paused") {
			// Not paused (or the origin object is away): sent as if there were no circuit.
			send.push(...rows);
			continue;
		}
		store.transaction(() => {
			for (const d of rows) {
				const since = d.held_since ?? now;
				store.holdForOrigin(d.id, since, holdCheckIn(since, now, s.probeMs, s.spanMs));
			}
		});
	}
	await Promise.all(
		send.map(async (d) => {
			inFlight.add(d.id);
			try {
				await attempt(store, s, d, assetId, false);
			} finally {
				inFlight.delete(d.id);
			}
		}),
	);
	// A larger backlog than one batch continues right away in the next alarm run.
}

/**
 * Sends one attempt of `d` and records it. A failure is reported to the origin first (its answer
 * may hold the delivery); a success only when it may clear failures. A probe (`probe`) is not
 * reported (the origin object asked for it and reads the verdict), and a failed probe leaves the
 * delivery held as it was, its schedule untouched.
 */
async function attempt(
	store: AssetStore,
	s: DeliverySettings,
	d: DeliveryRow,
	assetId: string,
	probe: boolean,
): Promise<AttemptVerdict> {
	const signing = s.signing(d.client) as { secrets: readonly string[] };
	const result = await s.send(
		{ url: d.callback_url, webhookId: d.webhook_id, body: d.body, headers: JSON.parse(d.callback_headers) },
		signing.secrets,
		s.timeoutMs,
		s.now(),
	);
	const at = s.now();
	const verdict = verdictOf(result);
	const ref = refOf(d);
	let paused = false;
	if (!probe && !verdict.ok) {
		// Registered as a waiter only if it will retry: a last attempt ends the delivery anyway.
		const retries = planAttemptRecord(d, d, result, s.scheduleS, 0.5, at).outcome.kind === "retry";
		const answer = await s.origins.report(ref, verdict, retries ? waiterOf(assetId, d) : null, at);
		paused = answer?.state === "paused";
	}
	store.transaction(() => {
		const current = store.watch(d.id);
		if (!current) return;
		const plan = planAttemptRecord(d, current, result, s.scheduleS, s.random(), at);
		const failed = plan.outcome.kind === "retry" || (probe && plan.outcome.kind === "end" && !verdict.ok);
		if (failed && (paused || probe)) {
			const since = current.held_since ?? at;
			const next = probe ? (current.next_attempt_at ?? at) : holdCheckIn(since, at, s.probeMs, s.spanMs);
			plan.outcome = { kind: "hold", at: next, heldSince: since };
		}
		store.recordAttempt(current, plan.attempt, plan.outcome, !probe);
	});
	if (!probe && verdict.ok && successWorthReporting(ref, at)) await s.origins.report(ref, verdict, null, at);
	return verdict;
}

/**
 * The origin object's probe: `watchId` sent once, now, if it still waits for that origin.
 * Not waiting (delivered, cancelled, redelivered, in flight, unsignable) is said so, and the
 * origin drops it from its waiters.
 */
export async function probeHeld(
	store: AssetStore,
	s: DeliverySettings,
	inFlight: Set<string>,
	ref: OriginRef,
	watchId: string,
): Promise<ProbeAnswer> {
	const asset = store.asset();
	const w = asset && store.watch(watchId);
	if (
		!w ||
		!hasDelivery(w) ||
		w.state !== "notifying" ||
		w.held_since === null ||
		w.owner !== ref.owner ||
		originOf(w.callback_url) !== ref.origin ||
		inFlight.has(w.id) ||
		"unsigned" in s.signing(w.client)
	)
		return { kind: "not_waiting" };
	inFlight.add(w.id);
	try {
		return { kind: "sent", verdict: await attempt(store, s, w, (asset as AssetRow).asset_id, true) };
	} finally {
		inFlight.delete(w.id);
	}
}

/** The origin is back (its probe succeeded): every delivery held for it is due now. */
export function resumeHeld(store: AssetStore, ref: OriginRef, now: number): number {
	learn(ref, { state: "healthy", failures: 0, probe_at: null }, now);
	const held = store
		.heldDeliveries(ref.owner)
		.filter((w) => originOf(w.callback_url) === ref.origin)
		.map((w) => w.id);
	if (held.length > 0) store.transaction(() => store.releaseHeld(held, now));
	return held.length;
}

/**
 * The asset object's deliveries as it calls them: the due ones in an alarm run, and a paused
 * origin's probe of one and resume of all. It keeps which sends are in flight in this instance,
 * and re-arms the object after the origin's calls (they change what is due).
 */
export class Deliveries {
	/** Watch ids whose callback this instance is sending right now. */
	private readonly sending = new Set<string>();

	constructor(
		private readonly store: AssetStore,
		/** the object's env, read at each call (its settings follow it) */
		private readonly env: () => Env,
		/** re-arms the object, given when the calling run began */
		private readonly rearm: (runAt: number) => Promise<void>,
	) {}

	due(): Promise<void> {
		return deliverDue(this.store, deliverySettings(this.env()), this.sending);
	}

	async probe(ref: OriginRef, watchId: string): Promise<ProbeAnswer> {
		const runAt = clock.now();
		const answer = await probeHeld(this.store, deliverySettings(this.env()), this.sending, ref, watchId);
		await this.rearm(runAt);
		return answer;
	}

	async resume(ref: OriginRef): Promise<number> {
		const now = clock.now();
		const resumed = resumeHeld(this.store, ref, now);
		if (resumed > 0) await this.rearm(now);
		return resumed;
	}
}
