// The plan format: check k's time and its exact inverse (which check a time, or a pending alarm,
// falls on), the first check that sees an asset finished at t, and the stored form of a plan.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	checkAt,
	firstCheckFrom,
	locate,
	MAX_PLAN_POINTS,
	type Plan,
	type PlanBasis,
	type PlanRule,
	parsePlan,
	seededUnit,
	serializePlan,
	tailGap,
} from "../../src/polling/plan";

const T0 = 1_800_000_000_000;

/** Any plan the format allows: increasing integer times after the anchor, a tail of ≥ 1 ms. */
const arbPlan: fc.Arbitrary<Plan> = fc
	.record({
		anchor: fc.integer({ min: 0, max: 4_000_000_000_000 }),
		gaps: fc.array(fc.integer({ min: 1, max: 3_600_000 }), { maxLength: MAX_PLAN_POINTS }),
		tailMs: fc.integer({ min: 1, max: 3_600_000 }),
		rule: fc.constantFrom<PlanRule>("adaptive", "backoff", "fixed"),
		basis: fc.constantFrom<PlanBasis>("model", "few_samples", "past_tail", "schedule"),
	})
	.map(({ anchor, gaps, tailMs, rule, basis }) => {
		let at = anchor;
		return { rule, basis, anchor, tailMs, times: gaps.map((g) => (at += g)) };
	});

const example: Plan = {
	rule: "adaptive",
	basis: "model",
	anchor: T0,
	times: [T0 + 10, T0 + 25],
	tailMs: 100,
};

describe("check times and where a time falls", () => {
	it("numbers the anchor 0, the explicit times 1..n, then the tail every tailMs", () => {
		expect([0, 1, 2, 3, 4].map((k) => checkAt(example, k))).toEqual([
			T0,
			T0 + 10,
			T0 + 25,
			T0 + 125,
			T0 + 225,
		]);
		expect(locate(example, T0 - 1)).toEqual({ index: -1, previousAt: null, nextAt: T0 });
		expect(locate(example, T0)).toEqual({ index: 0, previousAt: T0, nextAt: T0 + 10 });
		expect(locate(example, T0 + 24)).toEqual({ index: 1, previousAt: T0 + 10, nextAt: T0 + 25 });
		expect(locate(example, T0 + 224)).toEqual({ index: 3, previousAt: T0 + 125, nextAt: T0 + 225 });
		const tailOnly: Plan = { ...example, times: [] };
		expect(locate(tailOnly, T0 + 250)).toEqual({ index: 2, previousAt: T0 + 200, nextAt: T0 + 300 });
	});

	it("maps the k-th check time back to k, for any plan and any k", () => {
		fc.assert(
			fc.property(arbPlan, fc.nat({ max: 10_000 }), (plan, k) => {
				const t = checkAt(plan, k);
				expect(locate(plan, t)).toEqual({ index: k, previousAt: t, nextAt: checkAt(plan, k + 1) });
				// One millisecond earlier is still the previous check's span.
				expect(locate(plan, t - 1).index).toBe(k - 1);
			}),
			{ numRuns: 500 },
		);
	});

	it("places any time between the previous and the next check", () => {
		fc.assert(
			fc.property(arbPlan, fc.nat({ max: 40_000_000 }), (plan, offset) => {
				const t = plan.anchor + offset;
				const p = locate(plan, t);
				expect(p.previousAt).not.toBeNull();
				expect(p.previousAt as number).toBeLessThanOrEqual(t);
				expect(p.nextAt).toBeGreaterThan(t);
				expect(p.previousAt).toBe(checkAt(plan, p.index));
				expect(p.nextAt).toBe(checkAt(plan, p.index + 1));
			}),
			{ numRuns: 500 },
		);
	});

	it("finds the first check at or after a finish time: the one that sees it", () => {
		expect(firstCheckFrom(example, T0 - 5)).toEqual([0, T0]);
		expect(firstCheckFrom(example, T0 + 10)).toEqual([1, T0 + 10]);
		expect(firstCheckFrom(example, T0 + 11)).toEqual([2, T0 + 25]);
		expect(firstCheckFrom(example, T0 + 26)).toEqual([3, T0 + 125]);
		fc.assert(
			fc.property(arbPlan, fc.nat({ max: 40_000_000 }), (plan, offset) => {
				const t = plan.anchor + offset;
				const [k, at] = firstCheckFrom(plan, t);
				expect(at).toBe(checkAt(plan, k));
				expect(at).toBeGreaterThanOrEqual(t);
				if (k > 0) expect(checkAt(plan, k - 1)).toBeLessThan(t);
			}),
		);
	});
});

describe("the plan's dice", () => {
	it("are the same for the same asset and anchor, and differ between assets", () => {
		expect(seededUnit("a-1", T0, 3)).toBe(seededUnit("a-1", T0, 3));
		const us = Array.from({ length: 200 }, (_, i) => seededUnit(`asset-${i}`, T0, "tail"));
		expect(new Set(us).size).toBe(200);
		expect(Math.min(...us)).toBeGreaterThanOrEqual(0);
		expect(Math.max(...us)).toBeLessThan(1);
		// Spread over [0, 1), not bunched: each tenth gets some.
		for (let d = 0; d < 10; d++) expect(us.filter((u) => Math.floor(u * 10) === d).length).toBeGreaterThan(5);
	});

	it("jitter the tail ±10 % but never above the cap", () => {
		expect(tailGap(60_000, 60_000, 0)).toBe(54_000);
		expect(tailGap(60_000, 60_000, 0.999)).toBe(60_000);
		expect(tailGap(10_000, 60_000, 0.999)).toBe(10_998);
		expect(tailGap(0, 60_000, 0.5)).toBe(1);
	});
});

describe("the stored plan", () => {
	it("round-trips any plan", () => {
		fc.assert(
			fc.property(arbPlan, (plan) => {
				expect(parsePlan(serializePlan(plan))).toEqual(plan);
			}),
		);
		expect(serializePlan(example)).toBe(`{"v":1,"r":"adaptive","b":"model","a":${T0},"g":[10,15],"t":100}`);
	});

	it("is null, never a throw, for anything that is not a plan this code wrote", () => {
		const good = JSON.parse(serializePlan(example));
		for (const bad of [
			undefined,
			7,
			"",
			"{",
			"[]",
			JSON.stringify({ ...good, v: 2 }),
			JSON.stringify({ ...good, g: [10, 0] }),
			JSON.stringify({ ...good, g: [10, -3] }),
			JSON.stringify({ ...good, t: 0 }),
			JSON.stringify({ ...good, r: "random" }),
			JSON.stringify({ ...good, a: 1.5 }),
			JSON.stringify({ ...good, g: Array.from({ length: MAX_PLAN_POINTS + 1 }, () => 1) }),
			JSON.stringify({ ...good, a: Number.MAX_SAFE_INTEGER }),
		])
			expect(parsePlan(bad)).toBeNull();
		fc.assert(
			fc.property(fc.string(), (text) => {
				expect(parsePlan(text)).toBeNull();
			}),
		);
	});
});
