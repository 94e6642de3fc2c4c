// The check planners: backoff is today's growing interval, fixed the POLL_MAX_MS baseline, and
// adaptive puts its checks where the type's assets finish, with the cap, the floor and the
// fallbacks always holding. Plans are deterministic: the same inputs give the same plan.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { logNormal, prng } from "../../src/polling/distributions";
import { addSample, emptyModel, MIN_SAMPLES, snapshot, type TypeSnapshot } from "../../src/polling/model";
import { checkAt, MAX_PLAN_POINTS, type Plan } from "../../src/polling/plan";
import { type PollSettings, pollInterval } from "../../src/polling/schedule";
import { type PlanRequest, POLL_STRATEGIES, planChecks } from "../../src/polling/strategies";

const S: PollSettings = { initialMs: 2000, maxMs: 60_000, backoff: 1.5 };
const T0 = 1_800_000_000_000;

const modelFrom = (samples: number[], type = "Image"): TypeSnapshot =>
	snapshot(
		type,
		samples.reduce((m, x) => addSample(m, x), emptyModel()),
	);
const draws = (n: number, median: number, sigma: number, seed = 1) => {
	const rand = prng(seed);
	const d = logNormal(median, sigma);
	return Array.from({ length: n }, () => d(rand, 0));
};
/** Images: log-normal, median 30 s. */
const IMAGES = modelFrom(draws(200, 30_000, 0.5));

const request = (over: Partial<PlanRequest> = {}): PlanRequest => ({
	strategy: "adaptive",
	assetId: "asset-1",
	anchor: T0,
	ageMs: 1000,
	model: IMAGES,
	settings: S,
	...over,
});

const gaps = (p: Plan) => p.times.map((t, i) => t - (i === 0 ? p.anchor : (p.times[i - 1] as number)));
/** Check times as the asset's age, for the first `n` checks after the anchor. */
const ages = (p: Plan, ageAtAnchor: number, n: number) =>
	Array.from({ length: n }, (_, k) => checkAt(p, k + 1) - p.anchor + ageAtAnchor);

describe("backoff", () => {
	it("is POLL_INITIAL_MS · POLL_BACKOFF^k with ±10 % jitter, never above POLL_MAX_MS, then the cap", () => {
		const p = planChecks(request({ strategy: "backoff" }));
		expect(p).toMatchObject({ rule: "backoff", basis: "schedule", anchor: T0 });
		// 2, 3, 4.5, … 51.3 s: nine growing intervals, then the cap.
		expect(p.times).toHaveLength(9);
		gaps(p).forEach((g, k) => {
			expect(g).toBeGreaterThanOrEqual(Math.floor(0.9 * pollInterval(k, S)));
			expect(g).toBeLessThanOrEqual(Math.min(S.maxMs, Math.ceil(1.1 * pollInterval(k, S))));
		});
		expect(p.tailMs).toBeGreaterThanOrEqual(54_000);
		expect(p.tailMs).toBeLessThanOrEqual(60_000);
	});

	it("jitters from the asset id and anchor: the same inputs, the same plan; other assets, other plans", () => {
		expect(planChecks(request({ strategy: "backoff" }))).toEqual(
			planChecks(request({ strategy: "backoff" })),
		);
		const firsts = new Set(
			Array.from(
				{ length: 50 },
				(_, i) => planChecks(request({ strategy: "backoff", assetId: `a-${i}` })).times[0],
			),
		);
		expect(firsts.size).toBeGreaterThan(30);
	});

	it("with POLL_BACKOFF 1 stays at POLL_INITIAL_MS (±10 %)", () => {
		const p = planChecks(request({ strategy: "backoff", settings: { ...S, backoff: 1 } }));
		expect(p.times).toHaveLength(MAX_PLAN_POINTS);
		expect(p.tailMs).toBeLessThanOrEqual(2200);
	});
});

describe("fixed", () => {
	it("checks every 0.9–1 × POLL_MAX_MS from the anchor", () => {
		const p = planChecks(request({ strategy: "fixed" }));
		expect(p).toMatchObject({ rule: "fixed", times: [] });
		expect(p.tailMs).toBeGreaterThanOrEqual(54_000);
		expect(p.tailMs).toBeLessThanOrEqual(60_000);
	});
});

describe("adaptive", () => {
	it("falls back to backoff with too few samples, or no model", () => {
		const backoff = planChecks(request({ strategy: "backoff" }));
		const few = modelFrom(draws(MIN_SAMPLES - 1, 30_000, 0.5));
		for (const model of [null, few, snapshot("Image", emptyModel())])
			expect(planChecks(request({ model }))).toEqual({ ...backoff, rule: "backoff", basis: "few_samples" });
		expect(planChecks(request({ model: modelFrom(draws(MIN_SAMPLES, 30_000, 0.5)) })).basis).toBe("model");
	});

	it("checks densest where assets of the type finish, and sparsely before", () => {
		const p = planChecks(request());
		expect(p).toMatchObject({ rule: "adaptive", basis: "model" });
		const a = ages(p, 1000, p.times.length);
		const p10 = IMAGES.p10 as number;
		const p90 = IMAGES.p90 as number;
		const before = a.filter((x) => x < p10).length;
		const inside = a.filter((x) => x >= p10 && x <= p90).length;
		// Backoff spends 5 of its checks in the first 16 s, when an image is almost never done.
		expect(before).toBeLessThanOrEqual(2);
		expect(inside).toBeGreaterThanOrEqual(5);
		// Inside, the checks are a few seconds apart: far denser than backoff's 10–35 s there.
		const insideGaps = a
			.slice(1)
			.map((x, i) => x - (a[i] as number))
			.filter((_, i) => (a[i] as number) >= p10 && (a[i + 1] as number) <= p90);
		expect(Math.max(...insideGaps)).toBeLessThan(10_000);
	});

	it("plans from how long the asset has already been processing", () => {
		// The same model, an asset that is already 40 s old: its next check comes within seconds.
		const old = planChecks(request({ ageMs: 40_000 }));
		expect((old.times[0] as number) - T0).toBeLessThan(10_000);
		// An asset whose CreateTime is unknown (or in the future) plans as if just created.
		expect(planChecks(request({ ageMs: null }))).toEqual(planChecks(request({ ageMs: 0 })));
		expect(planChecks(request({ ageMs: -5000 }))).toEqual(planChecks(request({ ageMs: 0 })));
	});

	it("goes to POLL_MAX_MS past the model's p99: at once for an asset already beyond it", () => {
		const p = planChecks(request({ ageMs: (IMAGES.p99 as number) + 1 }));
		expect(p).toMatchObject({ rule: "adaptive", basis: "past_tail", times: [] });
		expect(p.tailMs).toBeLessThanOrEqual(S.maxMs);
		// For a young one, after the dense part the gaps grow back to the cap.
		const young = planChecks(request());
		const last = young.times.at(-1) as number;
		expect(last - T0 + 1000).toBeGreaterThan(IMAGES.p99 as number);
		const g = gaps(young);
		expect(g.slice(-3).every((x, i, xs) => i === 0 || x > (xs[i - 1] as number))).toBe(true);
	});

	it("does not wait POLL_MAX_MS for a type that always takes the same few seconds", () => {
		const p = planChecks(request({ ageMs: 0, model: modelFrom(Array.from({ length: 40 }, () => 3000)) }));
		expect(p.times[0] as number).toBeLessThanOrEqual(T0 + 3100);
		expect(p.times[0] as number).toBeGreaterThanOrEqual(T0 + 2000);
	});

	it("for slow videos, never waits more than POLL_MAX_MS while nothing is due", () => {
		const videos = modelFrom(draws(200, 300_000, 0.5), "Video");
		const p = planChecks(request({ model: videos, ageMs: 0 }));
		const g = gaps(p);
		// Before videos start finishing (the fastest of 200 took over a minute), the cap sets the pace.
		expect(g.length).toBeGreaterThan(2);
		for (const x of g.slice(0, 2)) expect(x).toBeGreaterThanOrEqual(54_000);
		expect(Math.max(...g)).toBeLessThanOrEqual(S.maxMs);
	});
});

describe("every plan", () => {
	const arbModel = fc.oneof(
		fc.constant(null),
		fc
			.array(fc.integer({ min: 0, max: 20_000_000 }), { minLength: 1, maxLength: 250 })
			.map((xs) => modelFrom(xs)),
		fc
			.record({
				median: fc.integer({ min: 100, max: 10_000_000 }),
				sigma: fc.double({ min: 0, max: 2, noNaN: true }),
			})
			.map(({ median, sigma }) => modelFrom(draws(200, median, sigma))),
	);
	const arbSettings = fc
		.record({
			initialMs: fc.integer({ min: 10, max: 120_000 }),
			extra: fc.integer({ min: 0, max: 600_000 }),
			backoff: fc.double({ min: 1, max: 10, noNaN: true }),
		})
		.map(({ initialMs, extra, backoff }) => ({ initialMs, maxMs: initialMs + extra, backoff }));

	it("has increasing times after the anchor, at most MAX_PLAN_POINTS, every gap within the cap (and the floor for adaptive)", () => {
		fc.assert(
			fc.property(
				fc.constantFrom(...POLL_STRATEGIES),
				arbModel,
				arbSettings,
				fc.option(fc.integer({ min: -1_000_000, max: 50_000_000 })),
				fc.string({ maxLength: 40 }),
				(strategy, model, settings, ageMs, assetId) => {
					const req = request({ strategy, model, settings, ageMs, assetId });
					const p = planChecks(req);
					expect(p.times.length).toBeLessThanOrEqual(MAX_PLAN_POINTS);
					expect(Number.isInteger(p.tailMs) && p.tailMs >= 1 && p.tailMs <= settings.maxMs).toBe(true);
					for (const g of gaps(p)) {
						expect(Number.isInteger(g)).toBe(true);
						expect(g).toBeGreaterThanOrEqual(1);
						expect(g).toBeLessThanOrEqual(settings.maxMs);
						if (p.rule === "adaptive") expect(g).toBeGreaterThanOrEqual(settings.initialMs);
					}
					expect(planChecks(req)).toEqual(p);
				},
			),
			{ numRuns: 300 },
		);
	});
});
