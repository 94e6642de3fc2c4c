// Jitter for every wait the service chooses (poll intervals, delivery retries), from a uniform
// `rand` in [0, 1) so that the callers' tests can pass a fixed value.

/** ±10 % around `ms`. */
export function jitter(ms: number, rand: number): number {
	return Math.round(ms * (0.9 + 0.2 * rand));
}

/** 0 to +10 % above `ms`: for waits the other side asked for, which must not come early. */
export function jitterUp(ms: number, rand: number): number {
	return Math.round(ms * (1 + 0.1 * rand));
}
