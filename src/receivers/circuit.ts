// The receiver circuit as pure functions (SPEC §4, docs/delivery.md): what one attempt's outcome
// does to an origin's state (RECEIVER_TRIP_FAILURES consecutive failures pause it; any success
// makes it healthy), when a paused origin is probed, and when a delivery waiting for one looks
// again on its own (the fallback that holds even if the origin object forgets it) or gives up.

import type { OriginState } from "../core/states";

/** An origin's circuit, as the ReceiverOrigin object stores it. */
export type CircuitRow = {
	state: OriginState;
	/** consecutive failed attempts reported since the last success */
	failures: number;
	last_error: string | null;
	last_error_at: number | null;
	last_success_at: number | null;
	paused_at: number | null;
	/** while paused: when the next probe is due */
	probe_at: number | null;
};

export interface CircuitSettings {
	tripFailures: number;
	probeMs: number;
}

export type AttemptVerdict = { ok: true } | { ok: false; error: string };

export interface CircuitStep {
	set: Partial<CircuitRow>;
	/** this outcome paused the origin */
	paused: boolean;
	/** this outcome ended a pause: the waiting deliveries are due */
	resumed: boolean;
}

/** What an attempt's outcome (a 2xx or 410 is `ok`: the receiver is up) does to the circuit. */
export function afterAttempt(
	row: CircuitRow,
	verdict: AttemptVerdict,
	at: number,
	s: CircuitSettings,
): CircuitStep {
	if (verdict.ok)
		return {
			set: { state: "healthy", failures: 0, last_success_at: at, paused_at: null, probe_at: null },
			paused: false,
			resumed: row.state === "paused",
		};
	const failures = row.failures + 1;
	const set: Partial<CircuitRow> = { failures, last_error: verdict.error, last_error_at: at };
	// Attempts that were in flight when it paused land here too: they count, the pause stands.
	if (row.state === "paused") return { set, paused: false, resumed: false };
	if (failures < s.tripFailures) return { set: { ...set, state: "failing" }, paused: false, resumed: false };
	return {
		set: { ...set, state: "paused", paused_at: at, probe_at: at + s.probeMs },
		paused: true,
		resumed: false,
	};
}

/** A probe that failed: one more failure, and the next probe one interval later. */
export function afterProbeFailure(
	row: CircuitRow,
	error: string,
	at: number,
	s: CircuitSettings,
): Partial<CircuitRow> {
	return { failures: row.failures + 1, last_error: error, last_error_at: at, probe_at: at + s.probeMs };
}

/** A held delivery's own look-ups never come more often than this (the origin releases it sooner). */
const MIN_CHECK_IN_PROBES = 2;
/** …and grow no further apart than this, so a lost release is found within the hour. */
const MAX_CHECK_IN_MS = 3_600_000;

/**
 * When a delivery waiting for a paused origin next looks at it on its own (its alarm). The origin
 * object makes it due as soon as a probe succeeds; this is the fallback if that call never comes
 * (the object lost it, or the call failed): two probe intervals at first, then as long as it has
 * waited so far (at most an hour), and never past the moment it must give up.
 */
export function holdCheckIn(heldSince: number, now: number, probeMs: number, spanMs: number): number {
	const floor = MIN_CHECK_IN_PROBES * probeMs;
	const wait = Math.min(Math.max(floor, now - heldSince), Math.max(floor, MAX_CHECK_IN_MS));
	return Math.min(now + wait, heldSince + spanMs);
}

/** A delivery that has waited longer than the whole retry schedule fails, as it would have. */
export function holdExpired(heldSince: number, now: number, spanMs: number): boolean {
	return now >= heldSince + spanMs;
}
