// The asset object's delivery flow: which callbacks are due, sent concurrently, and each answer
// recorded in one write. Nothing is written before a send: the owed event (its body and
// `webhook-id`) is already stored, and the alarm run that sends is itself the lease (the object set
// its alarm before starting), so a crash mid-send means one more attempt later, never none; within
// one instance an attempt in flight is not started twice. What an answer means for the watch is
// decided by `planAttemptRecord`, a pure planner over the retry policy (src/delivery/retry-policy.ts).

import { clock } from "../core/clock";
import type { Config } from "../core/config";
import { type AttemptResult, planNextAttempt } from "../delivery/retry-policy";
import { sendCallback } from "../delivery/send";
import type { AttemptRow, DeliveryRow, WatchRow } from "./rows";
import type { AssetStore, AttemptOutcome } from "./store";

/** Deliveries sent concurrently by one alarm run; the rest follow in an immediate re-run. */
export const DELIVERY_BATCH = 50;
/** While nothing can be signed, owed callbacks wait this long between looks (no attempt counted). */
const UNSIGNED_HOLD_MS = 60_000;

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

export interface DeliverySettings {
	secrets: readonly string[];
	/** why nothing can be signed (no valid WEBHOOK_SECRET), or null */
	unsigned: string | null;
	timeoutMs: number;
	scheduleS: readonly number[];
	send: typeof sendCallback;
	now: () => number;
	random: () => number;
}

/** The delivery settings from the configuration; nothing is sent unsigned. */
export function deliverySettings(c: Config): DeliverySettings {
	const unsigned =
		c.WEBHOOK_SECRETS.length === 0 || c.invalid.some((i) => i.name === "WEBHOOK_SECRET")
			? "WEBHOOK_SECRET is not configured"
			: null;
	return {
		secrets: c.WEBHOOK_SECRETS,
		unsigned,
		timeoutMs: c.CALLBACK_TIMEOUT_MS,
		scheduleS: c.DELIVERY_SCHEDULE_S,
		send: sendCallback,
		now: clock.now,
		random: clock.random,
	};
}

/** Sends every due callback (at most one batch) not already in flight, and records each answer. */
export async function deliverDue(
	store: AssetStore,
	s: DeliverySettings,
	inFlight: Set<string>,
): Promise<void> {
	const now = s.now();
	const due = store.dueDeliveries(now, DELIVERY_BATCH).filter((d) => !inFlight.has(d.id));
	if (due.length === 0) return;
	if (s.unsigned !== null) {
		// Nothing can be signed: hold every callback (not counting attempts) until configured.
		for (const d of due) store.holdDelivery(d.id, now + UNSIGNED_HOLD_MS, s.unsigned);
		return;
	}
	await Promise.all(
		due.map(async (d) => {
			inFlight.add(d.id);
			try {
				await attempt(store, s, d);
			} finally {
				inFlight.delete(d.id);
			}
		}),
	);
	// A larger backlog than one batch continues right away in the next alarm run.
}

async function attempt(store: AssetStore, s: DeliverySettings, d: DeliveryRow): Promise<void> {
	const result = await s.send(
		{ url: d.callback_url, webhookId: d.webhook_id, body: d.body, headers: JSON.parse(d.callback_headers) },
		s.secrets,
		s.timeoutMs,
		s.now(),
	);
	const at = s.now();
	store.transaction(() => {
		const current = store.watch(d.id);
		if (!current) return;
		const plan = planAttemptRecord(d, current, result, s.scheduleS, s.random(), at);
		store.recordAttempt(current, plan.attempt, plan.outcome);
	});
}
