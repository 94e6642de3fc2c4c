// The callers' side of the upstream budget: what an asset object (its checks, its forced
// refreshes, its unwatched lookups) does before and after an asset-info call. It keeps the open
// lease it was given in memory (lost on eviction, which costs one more ask at the next check),
// waits in-run for a permit's time or a turn within the horizon, and reports every error code the
// upstream answered.
// The budget being unreachable never stops a call: it goes ahead unmetered, on its schedule.

import { clock, sleepFor } from "../core/clock";
import { loadConfig } from "../core/config";
import { errorText, logEvent } from "../core/log";
import { HORIZON_MS, TOLERANCE_MS } from "./policy";
import { upstreamBudget } from "./upstream-budget";

/** An interactive call (a lookup or a refresh someone waits for) waits at most this long for a slot. */
export const INTERACTIVE_WAIT_MS = 5_000;

export type Permit = { kind: "go" } | { kind: "wait"; until: number };

const sleep = (ms: number) => (ms > 0 ? sleepFor(ms) : Promise.resolve());

export class Permits {
	private leaseUntil = Number.NEGATIVE_INFINITY;

	constructor(private readonly env: Env) {}

	private get enabled(): boolean {
		return loadConfig(this.env).UPSTREAM_MAX_RPS > 0;
	}

	/** Holds an open lease now: the check goes without asking. */
	leased(now: number): boolean {
		return now < this.leaseUntil;
	}

	/**
	 * A permit for the scheduled check `ticket` due at `due`: go now (after waiting in-run for a slot
	 * within the horizon), or wait until a later time (the caller sets its alarm there and asks again).
	 * `plannedRps` asks for an open lease covering the caller's plan.
	 */
	async forCheck(ticket: string, due: number, plannedRps: number): Promise<Permit> {
		if (!this.enabled || this.leased(clock.now())) return { kind: "go" };
		return this.ask(ticket, due, plannedRps, undefined);
	}

	/** A permit for an interactive call: go, or busy until a time (beyond INTERACTIVE_WAIT_MS). */
	async forLookup(ticket: string): Promise<Permit> {
		if (!this.enabled) return { kind: "go" };
		return this.ask(ticket, clock.now(), undefined, INTERACTIVE_WAIT_MS);
	}

	private async ask(
		ticket: string,
		due: number,
		plannedRps: number | undefined,
		maxWaitMs: number | undefined,
	): Promise<Permit> {
		const deadline = maxWaitMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + maxWaitMs;
		// A turn within the horizon is waited for in-run, then asked again; after a few such rounds
		// (a busy budget, a rate that fell meanwhile) the caller waits with its alarm instead.
		for (let round = 0; round < 6; round++) {
			let grant: Awaited<ReturnType<ReturnType<typeof upstreamBudget>["acquire"]>>;
			try {
				grant = await upstreamBudget(this.env).acquire({ ticket, due, plannedRps, maxWaitMs });
			} catch (err) {
				logEvent("warn", "upstream budget unreachable; the call goes unmetered", { error: errorText(err) });
				return { kind: "go" };
			}
			if (grant.kind === "go") {
				if (grant.lease) this.leaseUntil = grant.lease.until;
				if (grant.at > clock.now()) {
					await sleep(grant.at - clock.now());
					// Woken late for its turn: going now would bunch with the calls after it.
					if (clock.now() - grant.at > TOLERANCE_MS) continue;
				}
				return { kind: "go" };
			}
			const wait = grant.until - clock.now();
			if (wait > HORIZON_MS || grant.until > deadline) return { kind: "wait", until: grant.until };
			await sleep(wait);
		}
		return { kind: "wait", until: clock.now() + HORIZON_MS };
	}

	/** Reports an error the upstream answered (for its counts; a 429 or 455 halves the rate). */
	async report(ticket: string, code: string, calledAt: number): Promise<void> {
		if (!this.enabled) return;
		try {
			const { metered } = await upstreamBudget(this.env).report({ ticket, code, calledAt });
			if (metered) this.leaseUntil = Number.NEGATIVE_INFINITY;
		} catch (err) {
			logEvent("warn", "upstream budget unreachable; error not reported", { error: errorText(err) });
		}
	}
}
