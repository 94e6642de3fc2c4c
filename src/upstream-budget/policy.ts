// The upstream budget's policy, pure (no clock, no storage, no I/O; `now` is passed in): one rate
// for every asset-info call of the deployment, handed out as
//   - open leases: while the deployment is well under the rate and nothing was refused lately, a
//     caller may check on its own plan for LEASE_MS without asking; the budget counts the planned
//     rate it declared;
//   - metered slots: otherwise each call asks, and gets a slot, spaced 1/rate apart, in the order
//     calls fell due (they ask when they fall due); a slot further than HORIZON_MS ahead is a
//     reservation the caller confirms shortly before it, so that a halving can move it later.
// A 429 or 455 halves the rate at once (once per congestion event: only a call made after the last
// halving can halve it again) and it climbs back linearly (AIMD). Nothing is ever dropped: a
// reservation nobody confirms costs its one slot, never a stall. Errors are counted per code.

/** How long an open lease lets a caller check without asking. */
export const LEASE_MS = 5 * 60_000;
/** A slot at most this far ahead is granted outright: the caller waits for it itself. */
export const HORIZON_MS = 1000;
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
/** A reservation not confirmed this long after its slot is forgotten. */
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
	/** an interactive call waits at most this long (no reservation beyond it) */
	maxWaitMs?: number;
};

export type Grant =
	/** call at `at` (≤ now + HORIZON_MS) without asking again; with a lease, keep checking until `until` */
	| { kind: "go"; at: number; lease: { until: number } | null }
	/** ask again at `until` (a reservation is held for a scheduled check) */
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

type Reservation = { slot: number; due: number };

export class Budget {
	private halvedAt = Number.NEGATIVE_INFINITY;
	private rateAtHalving: number;
	private nextFree = 0;
	private readonly reservations = new Map<string, Reservation>();
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
			this.reservations.size === 0 &&
			this.committed(now, ticket) + this.recentMeteredRps(now) + plannedRps <= OPEN_SHARE * this.rate(now)
		);
	}

	private prune(now: number): void {
		for (const [ticket, r] of this.reservations)
			if (r.slot < now - STALE_MS) this.reservations.delete(ticket);
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
		const held = this.reservations.get(r.ticket);
		if (held) {
			if (held.slot - now <= HORIZON_MS) {
				this.reservations.delete(r.ticket);
				this.grants.push(held.slot);
				return { kind: "go", at: Math.max(now, held.slot), lease: null };
			}
			return { kind: "wait", until: held.slot - HORIZON_MS / 2 };
		}
		const spacing = this.spacingMs(now);
		const slot = Math.max(now, this.nextFree);
		if (slot - now <= HORIZON_MS) {
			this.nextFree = slot + spacing;
			this.grants.push(slot);
			return { kind: "go", at: slot, lease: null };
		}
		if (r.maxWaitMs !== undefined && slot - now > r.maxWaitMs) return { kind: "wait", until: slot };
		this.nextFree = slot + spacing;
		this.reservations.set(r.ticket, { slot, due: r.due });
		return { kind: "wait", until: slot - HORIZON_MS / 2 };
	}

	/**
	 * An answer the upstream gave a call made at `calledAt`. A 429 or 455 ends the caller's open
	 * lease and halves the rate (unless the call was made before the last halving), and moves
	 * reservations beyond the horizon to the new spacing, earliest due first.
	 */
	report(r: { ticket: string; code: string; calledAt: number }, now: number): { metered: boolean } {
		const minute = Math.floor(now / MINUTE_MS);
		const counts = this.errors.get(minute) ?? new Map<string, number>();
		counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
		this.errors.set(minute, counts);
		for (const m of this.errors.keys()) if (m <= minute - ERROR_WINDOW_MINUTES) this.errors.delete(m);
		if (r.code !== "429" && r.code !== "455") return { metered: !this.leases.has(r.ticket) };
		this.leases.delete(r.ticket);
		if (r.calledAt > this.halvedAt) {
			this.rateAtHalving = Math.max(this.maxRps * MIN_RATE_SHARE, this.rate(now) / 2);
			this.halvedAt = now;
			this.respace(now);
		}
		return { metered: true };
	}

	private respace(now: number): void {
		const movable = [...this.reservations.values()]
			.filter((r) => r.slot - now > HORIZON_MS)
			.sort((a, b) => a.due - b.due || a.slot - b.slot);
		const first = movable[0];
		if (!first) return;
		// The earliest stays where it was (after everything granted before it); the rest follow at
		// the new spacing, earliest due first.
		const spacing = this.spacingMs(now);
		let next = first.slot;
		for (const r of movable) {
			r.slot = next;
			next += spacing;
		}
		this.nextFree = next;
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
			waiting: this.reservations.size,
			open_leases: [...this.leases.values()].filter((l) => l.until > now).length,
			committed_rps: Math.round(this.committed(now) * 100) / 100,
			last_halved_at: Number.isFinite(this.halvedAt) ? this.halvedAt : null,
			errors_last_hour: errors,
		};
	}
}
