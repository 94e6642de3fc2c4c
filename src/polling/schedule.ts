// What an upstream answer does to the poll schedule, as pure functions (SPEC §5): the schedule
// goes on (intervals POLL_INITIAL_MS · POLL_BACKOFF^k up to POLL_MAX_MS, ±10 %, or a plan's next
// check), or a wait it does not know (rate limits, maintenance, operator errors), or it ends
// (terminal, 404s spanning a minute, 422). `answerEffect` is the reading; `planNextCheck` the
// growing interval on its own, which the backoff plan (strategies.ts) lays out in advance.

import { jitter, jitterUp } from "../core/jitter.ts";
import { MAX_RETRY_AFTER_MS } from "../core/retry-after.ts";
import { isTerminal } from "../core/states.ts";
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

/** The 404 streak a watch gives up on (SPEC §5): consecutive 404s and when the first came. */
export type NotFoundStreak = Pick<PollState, "notFoundCount" | "notFoundSince">;

/** What an answer does to the schedule, whatever the schedule is (a growing interval or a plan). */
export type AnswerEffect =
	/** the schedule goes on: its next check */
	| { kind: "schedule"; streak: NotFoundStreak }
	/** a wait the schedule does not know (429, 455, 401/402), then the schedule goes on */
	| { kind: "wait"; delayMs: number; streak: NotFoundStreak }
	| { kind: "terminal" }
	| { kind: "expire"; reason: "not_found" | "invalid_asset_id" };

/**
 * SPEC §5's reading of an answer. `currentIntervalMs` is the schedule's gap at this check (a 429
 * without Retry-After waits max(2 × it, POLL_MAX_MS)).
 */
export function answerEffect(
	prev: NotFoundStreak,
	outcome: CheckOutcome,
	now: number,
	currentIntervalMs: number,
	s: PollSettings,
	rand: number,
): AnswerEffect {
	const cleared: NotFoundStreak = { notFoundCount: 0, notFoundSince: null };
	const keep: NotFoundStreak = { notFoundCount: prev.notFoundCount, notFoundSince: prev.notFoundSince };
	switch (outcome.kind) {
		case "ok":
			if (isTerminal(outcome.asset.status)) return { kind: "terminal" };
			return { kind: "schedule", streak: cleared };
		case "transient":
			return { kind: "schedule", streak: keep };
		case "rate_limited": {
			const wait =
				outcome.retryAfterMs !== null
					? Math.min(outcome.retryAfterMs, MAX_RETRY_AFTER_MS)
					: Math.max(2 * currentIntervalMs, s.maxMs);
			return { kind: "wait", delayMs: jitterUp(wait, rand), streak: keep };
		}
		case "maintenance": {
			const wait = Math.max(MAINTENANCE_WAIT_MS, Math.min(outcome.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
			return { kind: "wait", delayMs: jitterUp(wait, rand), streak: keep };
		}
		case "operator":
			return { kind: "wait", delayMs: jitter(s.maxMs, rand), streak: keep };
		case "not_found": {
			const since = prev.notFoundSince ?? now;
			const count = prev.notFoundCount + 1;
			if (count >= NOT_FOUND_MIN_COUNT && now - since >= NOT_FOUND_WINDOW_MS)
				return { kind: "expire", reason: "not_found" };
			return { kind: "schedule", streak: { notFoundCount: count, notFoundSince: since } };
		}
		case "invalid":
			return { kind: "expire", reason: "invalid_asset_id" };
	}
}

/** The growing interval alone (`POLL_STRATEGY=backoff` as a step counter): the next check after an answer. */
export function planNextCheck(
	prev: PollState,
	outcome: CheckOutcome,
	now: number,
	s: PollSettings,
	rand: number,
): PollPlan {
	const effect = answerEffect(prev, outcome, now, pollInterval(prev.step, s), s, rand);
	switch (effect.kind) {
		case "schedule":
			return {
				kind: "again",
				delayMs: jitter(pollInterval(prev.step, s), rand),
				state: { ...effect.streak, step: prev.step + 1 },
			};
		case "wait":
			return { kind: "again", delayMs: effect.delayMs, state: { ...effect.streak, step: prev.step } };
		default:
			return effect;
	}
}
