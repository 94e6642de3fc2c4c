// Issue 11's schedule targets, measured by the deterministic simulator with the production
// settings (POLL_INITIAL_MS 2000, POLL_MAX_MS 60000, POLL_BACKOFF 1.5) and a fixed seed. These are
// ratios from one seeded run, not timings. Adaptive learns online: it starts with an empty model.
import { beforeAll, describe, expect, it } from "vitest";
import { logNormal, SCENARIOS, shift } from "../../src/polling/distributions";
import { MODEL_WINDOW } from "../../src/polling/model";
import {
	DEFAULT_SIM,
	makeAssets,
	runStrategy,
	type Summary,
	shiftRecovery,
	simulate,
	simulationReport,
} from "../../src/polling/simulate";
import { POLL_STRATEGIES } from "../../src/polling/strategies";

let rows: Summary[];
beforeAll(() => {
	rows = simulate();
});
const row = (scenario: string, strategy: string) =>
	rows.find((r) => r.scenario === scenario && r.strategy === strategy) as Summary;
const ratio = (scenario: string, strategy: string, key: "callsPerAsset" | "meanDelayMs") =>
	row(scenario, strategy)[key] / row(scenario, "backoff")[key];

describe("the simulator's targets", () => {
	it("runs with the production settings over 2000 assets per distribution", () => {
		expect(DEFAULT_SIM.settings).toEqual({ initialMs: 2000, maxMs: 60_000, backoff: 1.5 });
		expect(rows).toHaveLength(SCENARIOS.length * POLL_STRATEGIES.length);
		for (const r of rows) expect(r.assets).toBe(2000);
	});

	it("slow type (videos): adaptive halves backoff's mean delay with no more calls", () => {
		expect(ratio("slow", "adaptive", "meanDelayMs")).toBeLessThanOrEqual(0.5);
		expect(ratio("slow", "adaptive", "callsPerAsset")).toBeLessThanOrEqual(1);
	});

	it("slow type: halving the calls is out of reach under the cap, even for fixed, the cheapest poller", () => {
		// A check at least every POLL_MAX_MS is 1 + T / POLL_MAX_MS calls for an asset of T; backoff's
		// ramp adds only ~7 to that, so nothing that keeps the cap spends half of backoff's calls here.
		expect(ratio("slow", "fixed", "callsPerAsset")).toBeGreaterThan(0.5);
		expect(ratio("slow", "fixed", "meanDelayMs")).toBeGreaterThanOrEqual(1);
	});

	it("quick type (images): adaptive halves backoff's mean delay with fewer calls", () => {
		expect(ratio("quick", "adaptive", "meanDelayMs")).toBeLessThanOrEqual(0.5);
		expect(ratio("quick", "adaptive", "callsPerAsset")).toBeLessThanOrEqual(1);
	});

	it("no asset waits more than POLL_MAX_MS after finishing, whatever the strategy or distribution", () => {
		for (const r of rows) expect(r.maxDelayMs, `${r.scenario}/${r.strategy}`).toBeLessThanOrEqual(60_000);
	});

	it("adaptive beats backoff on delay for every distribution without spending more calls", () => {
		for (const sc of SCENARIOS) {
			expect(ratio(sc.name, "adaptive", "meanDelayMs"), sc.name).toBeLessThan(0.6);
			expect(ratio(sc.name, "adaptive", "callsPerAsset"), sc.name).toBeLessThanOrEqual(1);
		}
	});
});

describe("learning online", () => {
	it("plans exactly as backoff until enough finished assets are visible", () => {
		const sc = SCENARIOS.find((s) => s.name === "quick") as (typeof SCENARIOS)[number];
		const assets = makeAssets(sc, DEFAULT_SIM);
		const adaptive = runStrategy(sc, "adaptive", assets, DEFAULT_SIM);
		const backoff = runStrategy(sc, "backoff", assets, DEFAULT_SIM);
		expect(adaptive.slice(0, 20)).toEqual(backoff.slice(0, 20));
		expect(adaptive.slice(100)).not.toEqual(backoff.slice(100));
	});

	it("follows a shift within a bounded number of finished assets, either way", () => {
		const slower = shiftRecovery();
		const faster = shiftRecovery(
			{},
			{
				name: "shift-down",
				assetType: "Video",
				what: "4 min, then 1 min",
				distribution: shift(logNormal(240_000, 0.5), logNormal(60_000, 0.5)),
			},
		);
		for (const r of [slower, faster]) {
			expect(r.assetsAfterShift).toBe(1000);
			// Within one window: by the time the model could have replaced every old duration,
			// every plan is within 10 % of one made from a model that knew the new distribution.
			expect(r.learned).not.toBeNull();
			expect(r.learned as number).toBeLessThanOrEqual(MODEL_WINDOW);
			expect(r.registrations as number).toBeLessThanOrEqual(MODEL_WINDOW);
		}
	});

	it("counts a planner that never learns as never recovered: the measure can fail", () => {
		// A model that never sees a finished asset leaves adaptive on backoff for the whole run.
		const stuck = shiftRecovery({ modelDelayMs: 1e15 });
		expect(stuck.registrations).toBeNull();
	});
});

describe("the run", () => {
	it("is the same for the same seed and differs for another", () => {
		expect(simulate({ assets: 300 })).toEqual(simulate({ assets: 300 }));
		expect(simulate({ assets: 300, seed: 12 })).not.toEqual(simulate({ assets: 300 }));
	});

	it("prints the table the bench and the docs show", () => {
		const text = simulationReport({ assets: 300 });
		for (const sc of SCENARIOS)
			for (const st of POLL_STRATEGIES)
				expect(text).toMatch(new RegExp(`^\\| ${sc.name} \\| ${st} \\|`, "m"));
		expect(text).toContain("POLL_INITIAL_MS=2000 POLL_MAX_MS=60000 POLL_BACKOFF=1.5");
		expect(text).toMatch(/^shift: /m);
	});
});
