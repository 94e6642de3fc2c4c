// What a receiver's answer means for a callback, as a pure function (SPEC §4): any 2xx is
// delivered, 410 cancels the watch, anything else is retried on DELIVERY_SCHEDULE_S with ±10 %
// jitter, pushed back by the receiver's Retry-After (at most one hour); then the watch fails.

import { jitter } from "../core/jitter";
import { MAX_RETRY_AFTER_MS } from "../core/retry-after";

export type AttemptResult =
	| { kind: "response"; status: number; retryAfterMs: number | null }
	| { kind: "error"; error: string };

export type DeliveryPlan =
	| { kind: "delivered" }
	| { kind: "gone" }
	| { kind: "retry"; delayMs: number }
	| { kind: "exhausted" };

/**
 * @param attemptsMade attempts including the one just made (the first attempt is 1)
 * @param scheduleS delays in seconds between attempts, after the first, immediate one
 */
export function planNextAttempt(
	attemptsMade: number,
	result: AttemptResult,
	scheduleS: readonly number[],
	rand: number,
): DeliveryPlan {
	if (result.kind === "response") {
		if (result.status >= 200 && result.status <= 299) return { kind: "delivered" };
		if (result.status === 410) return { kind: "gone" };
	}
	const nextDelayS = scheduleS[attemptsMade - 1];
	if (nextDelayS === undefined) return { kind: "exhausted" };
	let delayMs = jitter(nextDelayS * 1000, rand);
	if (result.kind === "response" && result.retryAfterMs !== null)
		delayMs = Math.max(delayMs, Math.min(result.retryAfterMs, MAX_RETRY_AFTER_MS));
	return { kind: "retry", delayMs };
}

/** Total attempts a callback gets: the immediate one plus one per schedule entry. */
export const maxAttempts = (scheduleS: readonly number[]) => scheduleS.length + 1;

/** The whole schedule's span: how long a delivery retried to the end waits from its first attempt. */
export const scheduleSpanMs = (scheduleS: readonly number[]) => scheduleS.reduce((n, s) => n + s, 0) * 1000;
