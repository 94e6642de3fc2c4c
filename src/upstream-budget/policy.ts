// The upstream budget's policy, pure (no clock, no storage, no I/O; `now` is passed in): one rate
// for every asset-info call of the deployment, handed out as
//   - open leases: while the deployment is well under the rate and nothing was refused lately, a
//     caller may check on its own plan for LEASE_MS without asking; the budget counts the planned
//     rate it declared;
//   - metered calls: otherwise each call asks. Calls are paced at the current rate (GCRA with a
//     tolerance of TOLERANCE_MS, so no 1 s window holds more than rate + rate·0.1 + 1), the
//     earliest due first among the callers that are there; a permit is for a time at most a second
//     ahead (a caller that wakes late for it asks again, so calls never bunch), and one that must
//     wait longer is told when its turn should come (from its rank and the rate) and asks again
//     then, so a change of the rate moves every waiting call at its next ask. Nothing is
//     dropped or starved: a caller back at its turn goes before any later-due one, and one that
//     does not come back holds nobody up.
// A 429 or 455 halves the rate at once, once per congestion event (a call made within a second of
// the last halving cannot halve it again) and it climbs back linearly (AIMD). Errors are counted
// per code for an hour.

/** How long an open lease lets a caller check without asking. */
export const LEASE_MS = 5 * 60_000;
/** A turn at most this far ahead is waited for in-run; a later one with an alarm. */
export const HORIZON_MS = 1000;
/** A 429 or 455 halves the rate again only for a call made this long after the last halving: the
 * upstream's window (1 s) still holds the calls made before it. One halving per congestion event. */
export const HALVING_GAP_MS = 1000;
/** How early a call may go ahead of the pace (GCRA's tolerance): absorbs callers a little late. */
export const TOLERANCE_MS = 100;
/** No open lease within this long of a halving. */
export const QUIET_MS = 60_000;
/** Open leases only while all committed calls stay under this share of the rate. */
export const OPEN_SHARE = 0.5;
/** After a halving the rate climbs back by this share of the maximum per second. */
export const CLIMB_SHARE_PER_S = 1 / 30;
/** The rate never goes below this share of the maximum. */
export const MIN_RATE_SHARE = 1 / 64;
/** Metered calls always get at least this share of the rate, whatever open leases committed. */
const METERED_FLOOR_SHARE = 0.1;
/** A waiting caller this late for its turn lets others go first (until it asks again). */
const LATE_GRACE_MS = 250;
/** A waiting caller this late is forgotten (it asks again with its due, and is placed by it). */
const STALE_MS = 10_000;
/** Metered calls of this window make the recent metered rate. */
const RECENT_MS = 10_000;
const MINUTE_MS = 60_000;
const ERROR_WINDOW_MINUTES = 60;

export type AcquireRequest = {
	/** who asks: an asset's checks (its id), or one lookup of it */
	ticket: string;
	/** when the call fell due */
	due: number;
	/** the caller's planned calls per second over the next LEASE_MS, when it would take an open lease */
	plannedRps?: number;
	/** an interactive call waits at most this long (beyond it, it is told when to try again) */
	maxWaitMs?: number;
};

export type Grant =
	/** call at `at` (now, or within the horizon); with a lease, keep checking on the plan until `until` */
	| { kind: "go"; at: number; lease: { until: number } | null }
	/** ask again at `until`, when this caller's turn should come */
	| { kind: "wait"; until: number };

export type BudgetState = {
	max_rps: number;
	rate_rps: number;
	mode: "open" | "metered";
	waiting: number;
	open_leases: number;
	committed_rps: number;
	last_halved_at: number | null;
	errors_last_hour: Record<string, number>;
};

/** A caller that was told to wait: when its call fell due, its place among equals, when it is back. */
type Waiting = { due: number; seq: number; back: number };
const before = (a: Waiting, b: Waiting) => a.due < b.due || (a.due === b.due && a.seq < b.seq);

export class Budget {
	private halvedAt = Number.NEGATIVE_INFINITY;
	private rateAtHalving: number;
	/** GCRA's theoretical arrival time: the pace's next call */
	private tat = Number.NEGATIVE_INFINITY;
	private seq = 0;
	private readonly waiting = new Map<string, Waiting>();
	private readonly leases = new Map<string, { rps: number; until: number }>();
	private grants: number[] = [];
	private readonly errors = new Map<number, Map<string, number>>();

	constructor(
		private readonly maxRps: number,
		/** when this instance began: leases granted before it are unknown until LEASE_MS later */
		private readonly startedAt: number,
	) {
		this.rateAtHalving = maxRps;
	}

	rate(now: number): number {
		const floor = this.maxRps * MIN_RATE_SHARE;
		if (!Number.isFinite(this.halvedAt)) return this.maxRps;
		const climbed = this.rateAtHalving + this.maxRps * CLIMB_SHARE_PER_S * ((now - this.halvedAt) / 1000);
		return Math.max(floor, Math.min(this.maxRps, climbed));
	}

	private committed(now: number, except?: string): number {
		let rps = 0;
		for (const [ticket, l] of this.leases) {
			if (l.until <= now) this.leases.delete(ticket);
			else if (ticket !== except) rps += l.rps;
		}
		return rps;
	}

	private recentMeteredRps(now: number): number {
		this.grants = this.grants.filter((t) => t > now - RECENT_MS);
		return this.grants.length / (RECENT_MS / 1000);
	}

	/** The spacing of metered slots: the rate less what open leases committed (never below a floor). */
	private spacingMs(now: number): number {
		const rate = this.rate(now);
		const metered = Math.max(rate * METERED_FLOOR_SHARE, rate - this.committed(now));
		return 1000 / metered;
	}

	private canOpen(now: number, plannedRps: number, ticket: string): boolean {
		return (
			now - this.startedAt >= LEASE_MS &&
			now - this.halvedAt >= QUIET_MS &&
			this.waiting.size === 0 &&
			this.committed(now, ticket) + this.recentMeteredRps(now) + plannedRps <= OPEN_SHARE * this.rate(now)
		);
	}

	private prune(now: number): void {
		for (const [ticket, w] of this.waiting) if (w.back < now - STALE_MS) this.waiting.delete(ticket);
	}

	acquire(r: AcquireRequest, now: number): Grant {
		this.prune(now);
		if (r.plannedRps !== undefined && this.canOpen(now, r.plannedRps, r.ticket)) {
			const until = now + LEASE_MS;
			this.leases.set(r.ticket, { rps: r.plannedRps, until });
			return { kind: "go", at: now, lease: { until } };
		}
		// Metered from here on: a caller that held an open lease holds it no longer.
		this.leases.delete(r.ticket);
		const spacing = this.spacingMs(now);
		const me = this.waiting.get(r.ticket) ?? { due: r.due, seq: this.seq++, back: now };
		me.due = Math.min(me.due, r.due);
		const others = [...this.waiting].filter(([t]) => t !== r.ticket).map(([, w]) => w);
		// Earlier-due callers whose turn is now (back within a spacing, or a little late) go first;
		// one much later than its turn does not hold the others up (it keeps its due for its next ask).
		const ahead = others.filter(
			(w) => before(w, me) && w.back <= now + spacing && w.back >= now - LATE_GRACE_MS,
		).length;
		const ready = Math.max(now, this.tat - TOLERANCE_MS);
		// A permit within the horizon is for its time on the pace; the caller waits for it, and one
		// that wakes late for it (a busy runtime) asks again rather than going in a bunch.
		if (ahead === 0 && ready - now <= HORIZON_MS) {
			this.waiting.delete(r.ticket);
			this.tat = Math.max(this.tat, ready) + spacing;
			this.grants.push(ready);
			return { kind: "go", at: ready, lease: null };
		}
		// Its turn, from its rank among the waiting callers still expected (not late for their own
		// turn), at today's pace. Within the horizon the caller waits for it in-run; beyond, it comes
		// back half a horizon early (its alarm).
		const rank = others.filter((w) => before(w, me) && w.back >= now - LATE_GRACE_MS).length;
		const turn = ready + rank * spacing;
		if (r.maxWaitMs !== undefined && turn - now > r.maxWaitMs) {
			this.waiting.delete(r.ticket);
			return { kind: "wait", until: turn };
		}
		me.back = turn - now > HORIZON_MS ? turn - HORIZON_MS / 2 : turn;
		this.waiting.set(r.ticket, me);
		return { kind: "wait", until: me.back };
	}

	/**
	 * An answer the upstream gave a call made at `calledAt`. A 429 or 455 ends the caller's open
	 * lease and halves the rate, unless the call was made within HALVING_GAP_MS of the last
	 * halving: one halving per congestion event.
	 */
	report(r: { ticket: string; code: string; calledAt: number }, now: number): { metered: boolean } {
		const minute = Math.floor(now / MINUTE_MS);
		const counts = this.errors.get(minute) ?? new Map<string, number>();
		counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
		this.errors.set(minute, counts);
		for (const m of this.errors.keys()) if (m <= minute - ERROR_WINDOW_MINUTES) this.errors.delete(m);
		if (r.code !== "429" && r.code !== "455") return { metered: !this.leases.has(r.ticket) };
		this.leases.delete(r.ticket);
		if (r.calledAt > this.halvedAt + HALVING_GAP_MS) {
			this.rateAtHalving = Math.max(this.maxRps * MIN_RATE_SHARE, this.rate(now) / 2);
			this.halvedAt = now;
			// The pace restarts at the new spacing: what was granted before stands.
			this.tat = Math.max(this.tat, now);
		}
		return { metered: true };
	}

	state(now: number): BudgetState {
		this.prune(now);
		const errors: Record<string, number> = {};
		for (const [m, counts] of this.errors)
			if (m > Math.floor(now / MINUTE_MS) - ERROR_WINDOW_MINUTES)
				for (const [code, n] of counts) errors[code] = (errors[code] ?? 0) + n;
		return {
			max_rps: this.maxRps,
			rate_rps: Math.round(this.rate(now) * 100) / 100,
			mode: this.canOpen(now, 0, "") ? "open" : "metered",
			waiting: this.waiting.size,
			open_leases: [...this.leases.values()].filter((l) => l.until > now).length,
			committed_rps: Math.round(this.committed(now) * 100) / 100,
			last_halved_at: Number.isFinite(this.halvedAt) ? this.halvedAt : null,
			errors_last_hour: errors,
		};
	}
}
