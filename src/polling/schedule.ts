// When to ask the upstream next, as pure functions of what it just said (SPEC §5).
// Intervals grow POLL_INITIAL_MS · POLL_BACKOFF^k up to POLL_MAX_MS with ±10 % jitter;
// rate limits, maintenance and operator errors get their own waits; 404s and 422 end the watch.

import { jitter, jitterUp } from "../core/jitter";
import { MAX_RETRY_AFTER_MS } from "../core/retry-after";
import { isTerminal } from "../core/states";
import type { CheckOutcome } from "../crun/classify";

export interface PollSettings {
	initialMs: number;
	maxMs: number;
	backoff: number;
}

export interface PollState {
	/** k in POLL_INITIAL_MS · POLL_BACKOFF^k */
	step: number;
	notFoundCount: number;
	notFoundSince: number | null;
}

export type PollPlan =
	| { kind: "again"; delayMs: number; state: PollState }
	| { kind: "terminal" }
	| { kind: "expire"; reason: "not_found" | "invalid_asset_id" };

export const MAINTENANCE_WAIT_MS = 300_000;
/** 404s must span at least this long (and be at least three) before a watch gives up. */
export const NOT_FOUND_WINDOW_MS = 60_000;
export const NOT_FOUND_MIN_COUNT = 3;

export function pollInterval(step: number, s: PollSettings): number {
	return Math.min(s.maxMs, s.initialMs * s.backoff ** step);
}

export const initialPollState = (): PollState => ({ step: 0, notFoundCount: 0, notFoundSince: null });

export function planNextCheck(
	prev: PollState,
	outcome: CheckOutcome,
	now: number,
	s: PollSettings,
	rand: number,
): PollPlan {
	const grow = (state: PollState): PollPlan => ({
		kind: "again",
		delayMs: jitter(pollInterval(state.step, s), rand),
		state: { ...state, step: state.step + 1 },
	});
	switch (outcome.kind) {
		case "ok":
			if (isTerminal(outcome.asset.status)) return { kind: "terminal" };
			return grow({ ...prev, notFoundCount: 0, notFoundSince: null });
		case "transient":
			return grow(prev);
		case "rate_limited": {
			const wait =
				outcome.retryAfterMs !== null
					? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS)
					: Math.max(2 * pollInterval(prev.step, s), s.maxMs);
			return { kind: "again", delayMs: jitterUp(wait, rand), state: prev };
		}
		case "maintenance": {
			const wait = Math.max(MAINTENANCE_WAIT_MS, Math.min(outcome.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
			return { kind: "again", delayMs: jitterUp(wait, rand), state: prev };
		}
		case "operator":
			return { kind: "again", delayMs: jitter(s.maxMs, rand), state: prev };
		case "not_found": {
			const since = prev.notFoundSince ?? now;
			const count = prev.notFoundCount + 1;
			if (count >= NOT_FOUND_MIN_COUNT && now - since >= NOT_FOUND_WINDOW_MS)
				return { kind: "expire", reason: "not_found" };
			return grow({ ...prev, notFoundCount: count, notFoundSince: since });
		}
		case "invalid":
			return { kind: "expire", reason: "invalid_asset_id" };
	}
}
