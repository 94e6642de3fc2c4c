// The per-token request rate as a pure function: GCRA, the arithmetic form of a token bucket that
// holds a minute's budget and refills it evenly. A caller idle for a minute may burst the whole
// `limitPerMinute` at once; sustained traffic gets `limitPerMinute` per rolling minute, with no
// window edge to game. The only state is the "theoretical arrival time" `tat`.

export const RATE_WINDOW_MS = 60_000;

export type RateDecision =
	| { allowed: true; tat: number; remaining: number }
	| { allowed: false; tat: number; retryAfterMs: number };

/**
 * @param tat the state returned by the previous decision (0 for a caller never seen)
 * @param limitPerMinute requests a caller may make per rolling minute; at least 1
 */
export function decideRate(tat: number, now: number, limitPerMinute: number): RateDecision {
	const emission = RATE_WINDOW_MS / limitPerMinute;
	// `tat` never runs more than a window ahead of a steady clock; if it does, the clock went back
	// (another machine, a test), and the caller starts afresh rather than waiting out the skew.
	const from = tat > now + RATE_WINDOW_MS ? now : Math.max(tat, now);
	const next = from + emission;
	// The request that would push the bucket past one window's budget waits until it drains.
	const allowAt = next - RATE_WINDOW_MS;
	// The tolerance absorbs float error when the emission interval is not a whole number of ms.
	if (allowAt > now + 1e-6) return { allowed: false, tat: from, retryAfterMs: allowAt - now };
	return { allowed: true, tat: next, remaining: Math.floor((now + RATE_WINDOW_MS - next) / emission + 1e-9) };
}
