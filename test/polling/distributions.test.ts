// The simulator's randomness and distributions: seeded, in range, and shaped as their names say
// (medians, tails, weights, the half-way shift), so the simulator's table measures what it claims.
import { describe, expect, it } from "vitest";
import { logNormal, mixture, normal, pareto, prng, SCENARIOS, shift } from "../../src/polling/distributions";

const draw = (n: number, f: (rand: () => number, i: number) => number, seed = 7) => {
	const rand = prng(seed);
	return Array.from({ length: n }, (_, i) => f(rand, i)).sort((a, b) => a - b);
};
const median = (sorted: number[]) => sorted[Math.floor(sorted.length / 2)] as number;

describe("the seeded generator", () => {
	it("repeats for a seed, differs between seeds, and stays in [0, 1)", () => {
		const a = draw(1000, (r) => r(), 1);
		expect(a).toEqual(draw(1000, (r) => r(), 1));
		expect(a).not.toEqual(draw(1000, (r) => r(), 2));
		expect(a[0]).toBeGreaterThanOrEqual(0);
		expect(a.at(-1)).toBeLessThan(1);
		expect(median(a)).toBeCloseTo(0.5, 1);
	});

	it("makes standard normals", () => {
		const z = draw(20_000, (r) => normal(r));
		const mean = z.reduce((s, x) => s + x, 0) / z.length;
		const sd = Math.sqrt(z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length);
		expect(Math.abs(mean)).toBeLessThan(0.03);
		expect(sd).toBeCloseTo(1, 1);
	});
});

describe("the distributions", () => {
	it("log-normal has the median it is given and the spread of its σ", () => {
		const xs = draw(20_000, (r) => logNormal(30_000, 0.5)(r, 0));
		expect(median(xs) / 30_000).toBeCloseTo(1, 1);
		// p90 of a log-normal is median · e^(1.2816 σ).
		expect((xs[18_000] as number) / (30_000 * Math.exp(1.2816 * 0.5))).toBeCloseTo(1, 1);
	});

	it("Pareto starts at its minimum, has its heavy tail, and is cut at its cap", () => {
		const xs = draw(20_000, (r) => pareto(20_000, 1.5, 7_200_000)(r, 0));
		expect(xs[0]).toBeGreaterThanOrEqual(20_000);
		expect(xs.at(-1)).toBeLessThanOrEqual(7_200_000);
		// P(T > 10 · min) = 10^-1.5 ≈ 3.2 %.
		expect(xs.filter((x) => x > 200_000).length / xs.length).toBeCloseTo(0.032, 2);
	});

	it("a mixture draws each part with its weight", () => {
		const xs = draw(10_000, (r) =>
			mixture([
				[0.6, () => 1],
				[0.4, () => 2],
			])(r, 0),
		);
		expect(xs.filter((x) => x === 1).length / xs.length).toBeCloseTo(0.6, 1);
	});

	it("a shift changes distribution half-way through the run", () => {
		const d = shift(
			() => 1,
			() => 2,
		);
		const rand = prng(1);
		expect([0, 0.49, 0.5, 0.99].map((p) => d(rand, p))).toEqual([1, 1, 2, 2]);
	});

	it("the scenarios are the five of issue 11, with the medians their names promise", () => {
		expect(SCENARIOS.map((s) => s.name)).toEqual(["quick", "slow", "bimodal", "heavy", "shift"]);
		const med = (name: string, progress = 0) => {
			const sc = SCENARIOS.find((s) => s.name === name);
			return median(draw(10_000, (r) => sc?.distribution(r, progress) ?? 0));
		};
		expect(med("quick") / 30_000).toBeCloseTo(1, 1);
		expect(med("slow") / 300_000).toBeCloseTo(1, 1);
		expect(med("shift", 0.9) / med("shift", 0.1)).toBeCloseTo(4, 0);
	});
});
