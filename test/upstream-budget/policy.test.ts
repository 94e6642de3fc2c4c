// The upstream budget's policy, driven in virtual time: metered calls are paced at the rate in every
// 1 s window, served in the order they fell due, never dropped; a 429 halves the rate once per
// congestion event and it climbs back linearly, and waiting calls follow the new rate; open leases
// are given only when the deployment is well under the rate, and end with a refusal; errors are
// counted by code for an hour.
import { describe, expect, it } from "vitest";
import {
	Budget,
	CLIMB_SHARE_PER_S,
	HORIZON_MS,
	LEASE_MS,
	QUIET_MS,
	TOLERANCE_MS,
} from "../../src/upstream-budget/policy";

const T0 = 1_800_000_000_000;
/** A budget that has been up long enough to know every lease. */
const warm = (max: number) => new Budget(max, T0 - LEASE_MS);

/**
 * Callers that ask when their call falls due and again when told to wait, as the asset objects do;
 * returns when each call was made, per caller, in order of the event times.
 */
function drive(b: Budget, dues: { ticket: string; due: number }[], until: number) {
	const events = dues.map((d) => ({ at: d.due, ...d }));
	const calls: { ticket: string; due: number; at: number }[] = [];
	while (events.length > 0) {
		events.sort((x, y) => x.at - y.at);
		const e = events.shift() as (typeof events)[number];
		if (e.at > until) break;
		const g = b.acquire({ ticket: e.ticket, due: e.due }, e.at);
		if (g.kind === "go") calls.push({ ticket: e.ticket, due: e.due, at: g.at });
		else events.push({ ...e, at: g.until });
	}
	return calls;
}

/** The most calls in any window of `ms`. */
function peak(times: number[], ms = 1000): number {
	const t = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let i = 0, j = 0; i < t.length; i++) {
		while ((t[i] as number) - (t[j] as number) >= ms) j++;
		best = Math.max(best, i - j + 1);
	}
	return best;
}

describe("metered calls", () => {
	it("are paced at the rate in any 1 s window, however many fall due at once", () => {
		const b = warm(20);
		const dues = Array.from({ length: 400 }, (_, i) => ({ ticket: `a${i}`, due: T0 + (i % 7) }));
		const calls = drive(b, dues, T0 + 60_000);
		expect(calls).toHaveLength(400);
		// GCRA: at most rate · (1 s + tolerance) + 1 in any 1 s window; the target is 1.3 × the rate.
		expect(peak(calls.map((c) => c.at))).toBeLessThanOrEqual(Math.floor(20 * (1 + TOLERANCE_MS / 1000)) + 1);
		// 400 calls at 20/s take 20 s, not more: no slot is wasted while callers wait.
		expect(Math.max(...calls.map((c) => c.at)) - T0).toBeLessThanOrEqual(20_100);
	});

	it("are served earliest due first, and every one of them is served (never dropped, never starved)", () => {
		const b = warm(10);
		// A burst at T0, then a steady stream of new calls for a minute, more than the rate allows.
		const burst = Array.from({ length: 100 }, (_, i) => ({ ticket: `burst${i}`, due: T0 }));
		const stream = Array.from({ length: 600 }, (_, i) => ({ ticket: `s${i}`, due: T0 + 1000 + i * 100 }));
		const calls = drive(b, [...burst, ...stream], T0 + 3_600_000);
		expect(calls).toHaveLength(700);
		const order = calls.sort((x, y) => x.at - y.at).map((c) => c.due);
		// In the order they fell due (ties in any order).
		for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThanOrEqual(order[i - 1] as number);
	});

	it("callers that never come back hold nobody up once they are late for their turn", () => {
		const b = warm(10);
		for (let i = 0; i < 30; i++) b.acquire({ ticket: `gone${i}`, due: T0 }, T0);
		// Those 30 never come back. A later caller is served soon after the last of their turns.
		const [late] = drive(b, [{ ticket: "late", due: T0 + 10 }], T0 + 60_000);
		expect(late?.at).toBeLessThanOrEqual(T0 + 3000 + HORIZON_MS);
		// They are forgotten a while later (asking again, each would be placed by its due).
		expect(b.state(T0 + 15_000).waiting).toBe(0);
	});

	it("an interactive call whose turn is too far off is told when to try again, and holds no place", () => {
		const b = warm(1);
		for (let i = 0; i < 20; i++) b.acquire({ ticket: `a${i}`, due: T0 }, T0);
		const waiting = b.state(T0).waiting;
		const g = b.acquire({ ticket: "lookup:x", due: T0, maxWaitMs: 5000 }, T0);
		expect(g).toMatchObject({ kind: "wait" });
		expect((g as { until: number }).until - T0).toBeGreaterThan(5000);
		expect(b.state(T0).waiting).toBe(waiting);
	});
});

describe("a 429 or 455", () => {
	it("halves the rate at once, once per congestion event, and it climbs back linearly to the maximum", () => {
		const b = warm(20);
		b.report({ ticket: "a", code: "429", calledAt: T0 }, T0 + 5);
		expect(b.rate(T0 + 5)).toBe(10);
		// Other calls of the same burst (made before the halving) do not halve it again.
		b.report({ ticket: "b", code: "429", calledAt: T0 + 1 }, T0 + 6);
		expect(b.rate(T0 + 6)).toBeCloseTo(10, 1);
		// Nor do calls granted before it took effect (granted calls go up to HORIZON_MS later)...
		b.report({ ticket: "c", code: "429", calledAt: T0 + 5 + HORIZON_MS }, T0 + 5 + HORIZON_MS + 1);
		expect(b.rate(T0 + 5 + HORIZON_MS + 1)).toBeGreaterThan(10);
		// ...but a refusal of a call granted after it does.
		const at = T0 + 1100 + HORIZON_MS;
		const rate = b.rate(at);
		b.report({ ticket: "d", code: "455", calledAt: at - 5 }, at);
		expect(b.rate(at)).toBeCloseTo(rate / 2, 5);
		const perSecond = 20 * CLIMB_SHARE_PER_S;
		expect(b.rate(at + 3000)).toBeCloseTo(rate / 2 + 3 * perSecond, 5);
		expect(b.rate(at + 60_000)).toBe(20);
	});

	it("moves the calls already waiting to the new pace at their next ask", () => {
		const b = warm(10);
		const dues = Array.from({ length: 60 }, (_, i) => ({ ticket: `a${i}`, due: T0 + i }));
		for (const d of dues) b.acquire(d, d.due);
		b.report({ ticket: "a0", code: "429", calledAt: T0 + 1 }, T0 + 100);
		const calls = drive(b, dues.slice(11), T0 + 60_000);
		expect(calls).toHaveLength(49);
		// The 3 s after the halving took effect: about 5/s, not 10/s.
		const start = T0 + 100 + HORIZON_MS;
		const inWindow = calls.filter((c) => c.at > start && c.at <= start + 3000).length;
		expect(inWindow).toBeLessThanOrEqual(3 * Math.ceil(b.rate(start + 3000)) + 2);
		expect(inWindow).toBeLessThan(3 * 10);
	});

	it("paces the calls that follow at the halved rate, so a tighter upstream stops refusing", () => {
		const b = warm(20);
		b.report({ ticket: "x", code: "429", calledAt: T0 }, T0);
		const calls = drive(
			b,
			Array.from({ length: 200 }, (_, i) => ({ ticket: `a${i}`, due: T0 + 2000 })),
			T0 + 120_000,
		);
		// In the first second: the halved rate (10/s, climbing 0.67/s per s) with GCRA's tolerance, not 20.
		const early = calls.filter((c) => c.at < T0 + 3000).length;
		expect(early).toBeLessThanOrEqual(Math.floor(b.rate(T0 + 3000) * (1 + TOLERANCE_MS / 1000)) + 1);
	});
});

describe("open leases", () => {
	it("are given while the deployment is well under the rate, for LEASE_MS, and counted at their planned rate", () => {
		const b = warm(20);
		const g = b.acquire({ ticket: "a", due: T0, plannedRps: 0.25 }, T0);
		expect(g).toEqual({ kind: "go", at: T0, lease: { until: T0 + LEASE_MS } });
		expect(b.state(T0)).toMatchObject({ mode: "open", open_leases: 1, committed_rps: 0.25 });
		// Up to half the rate is committed (40 × 0.25 = 10 of 20), then callers are metered.
		for (let i = 0; i < 39; i++)
			expect(b.acquire({ ticket: `b${i}`, due: T0, plannedRps: 0.25 }, T0)).toMatchObject({ lease: {} });
		expect(b.acquire({ ticket: "c", due: T0, plannedRps: 0.25 }, T0)).toMatchObject({ lease: null });
		expect(b.state(T0)).toMatchObject({ open_leases: 40, committed_rps: 10 });
	});

	it("are not given by a budget that has not been up for LEASE_MS (it cannot know its predecessor's)", () => {
		const b = new Budget(20, T0);
		expect(b.acquire({ ticket: "a", due: T0, plannedRps: 0.1 }, T0)).toMatchObject({ lease: null });
		expect(b.acquire({ ticket: "a", due: T0, plannedRps: 0.1 }, T0 + LEASE_MS)).toMatchObject({
			lease: { until: T0 + 2 * LEASE_MS },
		});
	});

	it("end for a caller refused by the upstream, and none is given within QUIET_MS of a halving", () => {
		const b = warm(20);
		b.acquire({ ticket: "a", due: T0, plannedRps: 0.1 }, T0);
		expect(b.report({ ticket: "a", code: "429", calledAt: T0 + 1 }, T0 + 2)).toEqual({ metered: true });
		expect(b.state(T0 + 2).open_leases).toBe(0);
		expect(b.acquire({ ticket: "b", due: T0 + 3, plannedRps: 0.1 }, T0 + 3)).toMatchObject({ lease: null });
		expect(b.acquire({ ticket: "b", due: T0, plannedRps: 0.1 }, T0 + 2 + QUIET_MS)).toMatchObject({
			kind: "go",
			lease: { until: T0 + 2 + QUIET_MS + LEASE_MS },
		});
	});

	it("are not given while calls wait", () => {
		const b = warm(1);
		for (let i = 0; i < 5; i++) b.acquire({ ticket: `a${i}`, due: T0 }, T0);
		expect(b.acquire({ ticket: "z", due: T0, plannedRps: 0.01 }, T0)).toMatchObject({ kind: "wait" });
	});
});

describe("errors by code", () => {
	it("are counted over the last hour", () => {
		const b = warm(20);
		b.report({ ticket: "a", code: "500", calledAt: T0 }, T0);
		b.report({ ticket: "a", code: "500", calledAt: T0 }, T0 + 1000);
		b.report({ ticket: "b", code: "timeout", calledAt: T0 }, T0 + 30 * 60_000);
		expect(b.state(T0 + 30 * 60_000).errors_last_hour).toEqual({ "500": 2, timeout: 1 });
		expect(b.state(T0 + 61 * 60_000).errors_last_hour).toEqual({ timeout: 1 });
		expect(b.state(T0 + 95 * 60_000).errors_last_hour).toEqual({});
	});
});
