// The processing-time model: the window that follows drift, what a finished asset teaches it,
// the snapshot the planners read, and a stored row that never breaks anything when corrupt.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
	addSample,
	durationSample,
	emptyModel,
	hazardBins,
	isUsable,
	KNOT_PROBABILITIES,
	MIN_SAMPLES,
	MODEL_WINDOW,
	modelKey,
	parseModel,
	serializeModel,
	snapshot,
	survival,
	type TypeModel,
} from "../../src/polling/model";

const modelOf = (samples: number[]): TypeModel => samples.reduce(addSample, emptyModel());
const range = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));

describe("what a finished asset teaches", () => {
	it("is UpdateTime − CreateTime from the upstream, whatever the checks saw", () => {
		expect(
			durationSample({
				createTime: "2026-11-28T17:00:00.000Z",
				updateTime: "2026-11-28T17:04:30.500Z",
				firstCheckAt: Date.parse("2026-11-28T17:00:02Z"),
				terminalCheckAt: Date.parse("2026-11-28T17:05:00Z"),
			}),
		).toBe(270_500);
	});

	it("is first check → terminal check when the upstream's times are missing or backwards", () => {
		const checks = { firstCheckAt: 1_000_000, terminalCheckAt: 1_045_000 };
		expect(durationSample({ createTime: null, updateTime: null, ...checks })).toBe(45_000);
		expect(
			durationSample({ createTime: "2026-11-28T17:05:00Z", updateTime: "2026-11-28T17:00:00Z", ...checks }),
		).toBe(45_000);
		expect(durationSample({ createTime: "not a time", updateTime: "2026-11-28T17:00:00Z", ...checks })).toBe(
			45_000,
		);
	});

	it("distrusts an upstream duration shorter than a check saw the asset still processing", () => {
		const created = Date.parse("2026-11-28T17:00:00Z");
		// UpdateTime never moved: the upstream says 0 ms, but a check 40 s in still saw Processing.
		const stuck = {
			createTime: "2026-11-28T17:00:00Z",
			updateTime: "2026-11-28T17:00:00Z",
			firstCheckAt: created + 1000,
			lastProcessingAt: created + 40_000,
			terminalCheckAt: created + 50_000,
		};
		expect(durationSample(stuck)).toBe(45_000);
		// Whole-second times and a little clock skew are not taken for that.
		expect(durationSample({ ...stuck, updateTime: "2026-11-28T17:00:37Z" })).toBe(37_000);
		// An asset that was never seen Processing keeps the upstream's word.
		expect(durationSample({ ...stuck, lastProcessingAt: null })).toBe(0);
	});

	it("is nothing for an asset that was already finished at its first check and has no times", () => {
		expect(durationSample({ createTime: null, updateTime: null, firstCheckAt: 5, terminalCheckAt: 5 })).toBe(
			null,
		);
		expect(
			durationSample({ createTime: null, updateTime: null, firstCheckAt: null, terminalCheckAt: 9 }),
		).toBe(null);
	});

	it("is keyed by the upstream's AssetType string, unknown types included", () => {
		expect(modelKey("Video")).toBe("Video");
		expect(modelKey("Hologram")).toBe("Hologram");
		expect(modelKey(null)).toBe("unknown");
		expect(modelKey("  ")).toBe("unknown");
		expect(modelKey("x".repeat(500))).toHaveLength(64);
	});
});

describe("the window", () => {
	it("keeps the last MODEL_WINDOW durations and ignores what cannot be a duration", () => {
		const m = modelOf(range(MODEL_WINDOW + 50, (i) => i * 1000));
		expect(m.samples).toHaveLength(MODEL_WINDOW);
		expect(m.samples[0]).toBe(50_000);
		expect(m.samples.at(-1)).toBe((MODEL_WINDOW + 49) * 1000);
		for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, 400 * 86_400_000])
			expect(addSample(m, bad)).toBe(m);
	});

	it("follows a shift: after a full window of new durations the old ones are gone", () => {
		const before = modelOf(range(MODEL_WINDOW, (i) => 30_000 + i));
		const after = range(MODEL_WINDOW, (i) => 300_000 + 7 * i).reduce(addSample, before);
		expect(snapshot("Video", after)).toEqual(
			snapshot("Video", modelOf(range(MODEL_WINDOW, (i) => 300_000 + 7 * i))),
		);
		// Half a window in, the median has already moved to the new durations.
		const half = range(MODEL_WINDOW / 2 + 1, () => 300_000).reduce(addSample, before);
		expect(snapshot("Video", half).p50).toBe(300_000);
	});
});

describe("the snapshot", () => {
	it("shows samples and p10/p50/p90/p99, and knots at every KNOT_PROBABILITY", () => {
		// 1 s … 101 s: quantile p is 1 s + p × 100 s.
		const s = snapshot("Image", modelOf(range(101, (i) => (i + 1) * 1000)));
		expect(s).toMatchObject({
			type: "Image",
			samples: 101,
			p10: 11_000,
			p50: 51_000,
			p90: 91_000,
			p99: 100_000,
		});
		expect(s.knots).toEqual(KNOT_PROBABILITIES.map((p) => Math.round(1000 + p * 100_000)));
	});

	it("has strictly increasing knots even when durations repeat", () => {
		const s = snapshot("Image", modelOf(range(40, () => 3000)));
		for (let i = 1; i < s.knots.length; i++) expect(s.knots[i]).toBeGreaterThan(s.knots[i - 1] as number);
		expect(s.knots[0]).toBe(3000);
		// What it shows are the durations themselves.
		expect(s).toMatchObject({ p10: 3000, p50: 3000, p90: 3000, p99: 3000 });
	});

	it("is empty and not usable without samples, usable from MIN_SAMPLES on", () => {
		expect(snapshot("Audio", emptyModel())).toEqual({
			type: "Audio",
			samples: 0,
			knots: [],
			p10: null,
			p50: null,
			p90: null,
			p99: null,
		});
		expect(isUsable(snapshot("Audio", modelOf(range(MIN_SAMPLES - 1, (i) => i * 100))))).toBe(false);
		expect(isUsable(snapshot("Audio", modelOf(range(MIN_SAMPLES, (i) => i * 100))))).toBe(true);
		expect(isUsable(null)).toBe(false);
	});

	it("is small enough to ship to every asset object", () => {
		const s = snapshot("Video", modelOf(range(MODEL_WINDOW, (i) => 86_400_000 - i * 997)));
		expect(JSON.stringify(s).length).toBeLessThan(400);
	});

	it("gives a survival curve through 1 − p at each knot, never increasing", () => {
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: MIN_SAMPLES, maxLength: 250 }),
				fc.array(fc.integer({ min: 0, max: 20_000_000 }), { minLength: 2, maxLength: 20 }),
				(samples, ages) => {
					const s = snapshot("Video", modelOf(samples));
					const bins = hazardBins(s);
					s.knots.forEach((k, i) => {
						expect(survival(bins, k)).toBeCloseTo(1 - (KNOT_PROBABILITIES[i] as number), 9);
					});
					const sorted = [...ages].sort((a, b) => a - b);
					for (let i = 1; i < sorted.length; i++)
						expect(survival(bins, sorted[i] as number)).toBeLessThanOrEqual(
							survival(bins, sorted[i - 1] as number),
						);
					for (const b of bins) expect(b.hazardPerMs).toBeGreaterThan(0);
				},
			),
		);
	});
});

describe("the stored row", () => {
	it("round-trips as compact JSON", () => {
		const m = modelOf(range(MODEL_WINDOW, (i) => 250_000 + i * 13));
		const text = serializeModel(m);
		expect(text.length).toBeLessThan(MODEL_WINDOW * 8 + 20);
		expect(parseModel(text)).toEqual({ model: m, problem: null });
		fc.assert(
			fc.property(
				fc.array(fc.integer({ min: 0, max: 366 * 86_400_000 }), { maxLength: MODEL_WINDOW }),
				(xs) => {
					expect(parseModel(serializeModel({ samples: xs })).model.samples).toEqual(xs);
				},
			),
		);
	});

	it("reads a corrupt or foreign row as an empty model and says why, never throwing", () => {
		for (const bad of [
			undefined,
			null,
			42,
			"",
			"{",
			"<html>",
			"null",
			'{"v":2,"s":[1,2]}',
			'{"v":1,"s":[-5]}',
			'{"v":1,"s":[1.5]}',
			'{"v":1,"s":"1,2"}',
			`{"v":1,"s":[${range(MODEL_WINDOW + 1, () => 1).join(",")}]}`,
		]) {
			const r = parseModel(bad);
			expect(r.model).toEqual(emptyModel());
			expect(r.problem).toEqual(expect.any(String));
		}
		fc.assert(
			fc.property(fc.string(), (text) => {
				expect(() => parseModel(text)).not.toThrow();
			}),
		);
	});
});
