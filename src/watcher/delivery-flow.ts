// The asset object's delivery flow: which callbacks are due, each leased before it is sent (so a
// crash mid-send means one more attempt later, never none), sent concurrently, and its answer
// recorded. What an answer means for the watch is decided by `planAttemptRecord`, a pure planner
// over the retry policy (src/delivery/retry-policy.ts); this module only carries it out.

import { clock } from "../core/clock";
import type { Config } from "../core/config";
import type { WatchState } from "../core/states";
import { type AttemptResult, planNextAttempt } from "../delivery/retry-policy";
import { sendCallback } from "../delivery/send";
import type { AttemptRow, DeliveryRow, WatchRow } from "./rows";
import type { AssetStore, DueDelivery } from "./store";

/** Deliveries sent concurrently by one alarm run; the rest follow in an immediate re-run. */
export const DELIVERY_BATCH = 50;
/** While nothing can be signed, owed callbacks wait this long between looks (no attempt counted). */
const UNSIGNED_HOLD_MS = 60_000;

export type SentAttempt = AttemptResult & { ms: number };

export interface AttemptRecord {
	attempt: AttemptRow;
	lastStatus: number | null;
	lastError: string | null;
	/** what follows for the delivery and its watch; null when the watch moved on meanwhile */
	next:
		| { kind: "retry"; at: number }
		| {
				kind: "end";
				deliveredAt: number | null;
				state: Extract<WatchState, "delivered" | "cancelled" | "failed">;
		  }
		| null;
}

/**
 * What one attempt's answer writes. `d` is the delivery as it was leased; `current` and `latest`
 * are the watch and delivery as they are now: a watch cancelled meanwhile, or redelivered (a new
 * round began), only gets the attempt recorded.
 */
export function planAttemptRecord(
	d: DeliveryRow,
	current: WatchRow | null,
	latest: DeliveryRow | null,
	result: SentAttempt,
	scheduleS: readonly number[],
	rand: number,
	now: number,
): AttemptRecord {
	const status = result.kind === "response" ? result.status : null;
	const lastError =
		result.kind === "error"
			? result.error
			: status !== null && (status < 200 || status > 299)
				? `receiver answered ${status}`
				: null;
	const record = {
		attempt: { attempt: d.attempts + 1, at: now, status, error: lastError, duration_ms: result.ms },
		lastStatus: status,
		lastError,
	};
	if (current?.state !== "notifying" || !latest || latest.generation !== d.generation)
		return { ...record, next: null };
	const plan = planNextAttempt(d.round_attempts + 1, result, scheduleS, rand);
	switch (plan.kind) {
		case "delivered":
			return { ...record, next: { kind: "end", deliveredAt: now, state: "delivered" } };
		case "gone":
			return { ...record, next: { kind: "end", deliveredAt: null, state: "cancelled" } };
		case "retry":
			return { ...record, next: { kind: "retry", at: now + plan.delayMs } };
		case "exhausted":
			return { ...record, next: { kind: "end", deliveredAt: null, state: "failed" } };
	}
}

export interface DeliverySettings {
	secrets: readonly string[];
	/** why nothing can be signed (no valid WEBHOOK_SECRET), or null */
	unsigned: string | null;
	timeoutMs: number;
	scheduleS: readonly number[];
	leaseMs: number;
	send: typeof sendCallback;
	now: () => number;
	random: () => number;
}

/** The delivery settings from the configuration; nothing is sent unsigned. */
export function deliverySettings(c: Config, leaseMs: number): DeliverySettings {
	const unsigned =
		c.WEBHOOK_SECRETS.length === 0 || c.invalid.some((i) => i.name === "WEBHOOK_SECRET")
			? "WEBHOOK_SECRET is not configured"
			: null;
	return {
		secrets: c.WEBHOOK_SECRETS,
		unsigned,
		timeoutMs: c.CALLBACK_TIMEOUT_MS,
		scheduleS: c.DELIVERY_SCHEDULE_S,
		leaseMs,
		send: sendCallback,
		now: clock.now,
		random: clock.random,
	};
}

/** Sends every due callback (at most one batch) and records each answer. */
export async function deliverDue(store: AssetStore, s: DeliverySettings): Promise<void> {
	const now = s.now();
	const due = store.dueDeliveries(now, DELIVERY_BATCH);
	if (due.length === 0) return;
	if (s.unsigned !== null) {
		// Nothing can be signed: hold every callback (not counting attempts) until configured.
		for (const d of due) store.scheduleDelivery(d.watch_id, now + UNSIGNED_HOLD_MS, s.unsigned);
		return;
	}
	await Promise.all(due.map((d) => attempt(store, s, d, now)));
	// A larger backlog than one batch continues right away in the next alarm run.
}

async function attempt(store: AssetStore, s: DeliverySettings, d: DueDelivery, now: number): Promise<void> {
	// The lease: written before sending, so a crash mid-send means one more attempt later.
	store.scheduleDelivery(d.watch_id, now + s.leaseMs);
	const result = await s.send(
		{ url: d.callback_url, webhookId: d.webhook_id, body: d.body, headers: JSON.parse(d.callback_headers) },
		s.secrets,
		s.timeoutMs,
		s.now(),
	);
	const at = s.now();
	store.transaction(() => {
		const plan = planAttemptRecord(
			d,
			store.watch(d.watch_id),
			store.delivery(d.watch_id),
			result,
			s.scheduleS,
			s.random(),
			at,
		);
		store.recordAttempt(d.watch_id, plan.attempt, plan.lastStatus, plan.lastError);
		if (plan.next?.kind === "retry") store.scheduleDelivery(d.watch_id, plan.next.at);
		else if (plan.next?.kind === "end") {
			store.endDelivery(d.watch_id, plan.next.deliveredAt);
			store.setWatchState(d.watch_id, plan.next.state, at);
		}
	});
}
