// The deterministic schedule simulator: strategies × processing-time distributions, from a seed,
// with no clock and no I/O. Adaptive learns online as production will: its model starts empty,
// each asset feeds it when its terminal answer is seen, and a registration plans from what was
// seen at least `modelDelayMs` earlier (the per-isolate snapshot cache). Measured per asset: calls
// (the first check included) and delay (from when the asset finished, or was registered if later,
// to the check that saw it). `node src/polling/simulate.ts` prints the table.

import { fnv1a } from "../core/hash.ts";
import { prng, SCENARIOS, type Scenario } from "./distributions.ts";
import { addSample, emptyModel, MODEL_WINDOW, snapshot, type TypeSnapshot } from "./model.ts";
import { firstCheckFrom, type Plan } from "./plan.ts";
import type { PollSettings } from "./schedule.ts";
import { CHECK_COST_MS, POLL_STRATEGIES, type PollStrategy, planChecks } from "./strategies.ts";

export type SimOptions = {
	/** assets per scenario */
	assets: number;
	seed: number;
	/** mean time between registrations (Poisson arrivals) */
	meanArrivalMs: number;
	/** an asset is registered up to this long after its CreateTime (uniform) */
	maxRegistrationLagMs: number;
	/** how old a model a registration plans from */
	modelDelayMs: number;
	settings: PollSettings;
	checkCostMs: number;
};

export const DEFAULT_SIM: SimOptions = {
	assets: 2000,
	seed: 11,
	meanArrivalMs: 15_000,
	maxRegistrationLagMs: 3000,
	modelDelayMs: 60_000,
	settings: { initialMs: 2000, maxMs: 60_000, backoff: 1.5 },
	checkCostMs: CHECK_COST_MS,
};

export type SimAsset = { id: string; registeredAt: number; createdAt: number; durationMs: number };
export type AssetOutcome = {
	calls: number;
	delayMs: number;
	/** when the asset's duration became visible to new registrations */
	learnedAt: number;
};
export type Summary = {
	scenario: string;
	strategy: PollStrategy;
	assets: number;
	callsPerAsset: number;
	meanDelayMs: number;
	p95DelayMs: number;
	p99DelayMs: number;
	maxDelayMs: number;
};

/** The same assets for every strategy of a scenario, so strategies are compared pairwise. */
export function makeAssets(scenario: Scenario, o: SimOptions): SimAsset[] {
	const rand = prng(o.seed ^ fnv1a(scenario.name));
	const assets: SimAsset[] = [];
	let t = 1_800_000_000_000;
	for (let i = 0; i < o.assets; i++) {
		t += Math.round(-o.meanArrivalMs * Math.log(1 - rand()));
		const lag = Math.floor(rand() * o.maxRegistrationLagMs);
		const durationMs = Math.max(1, Math.round(scenario.distribution(rand, i / o.assets)));
		assets.push({ id: `sim-${scenario.name}-${i}`, registeredAt: t, createdAt: t - lag, durationMs });
	}
	return assets;
}

type Sample = { at: number; ms: number };

/** A min-heap of finished assets' durations by the time they become visible to new registrations. */
class Pending {
	private heap: Sample[] = [];
	private at = (i: number) => (this.heap[i] as Sample).at;
	private swap(i: number, j: number): void {
		const h = this.heap;
		[h[i], h[j]] = [h[j] as Sample, h[i] as Sample];
	}
	push(at: number, ms: number): void {
		this.heap.push({ at, ms });
		for (let i = this.heap.length - 1; i > 0; ) {
			const parent = (i - 1) >> 1;
			if (this.at(parent) <= this.at(i)) break;
			this.swap(parent, i);
			i = parent;
		}
	}
	/** Removes and returns every duration visible at `t`. */
	takeUntil(t: number): number[] {
		const out: number[] = [];
		while (this.heap.length > 0 && this.at(0) <= t) {
			out.push((this.heap[0] as Sample).ms);
			const last = this.heap.pop() as Sample;
			if (this.heap.length === 0) break;
			this.heap[0] = last;
			for (let i = 0; ; ) {
				let m = i;
				for (const c of [2 * i + 1, 2 * i + 2]) if (c < this.heap.length && this.at(c) < this.at(m)) m = c;
				if (m === i) break;
				this.swap(m, i);
				i = m;
			}
		}
		return out;
	}
}

/**
 * One strategy over one scenario's assets, in registration order. `fixedModel`, when given, is used
 * for every plan instead of the online model; `observe` sees each plan as it is made.
 */
export function runStrategy(
	scenario: Scenario,
	strategy: PollStrategy,
	assets: SimAsset[],
	o: SimOptions,
	fixedModel?: TypeSnapshot,
	observe?: (asset: SimAsset, plan: Plan) => void,
): AssetOutcome[] {
	let model = emptyModel();
	let snap: TypeSnapshot = snapshot(scenario.assetType, model);
	const pending = new Pending();
	return assets.map((a) => {
		const seen = pending.takeUntil(a.registeredAt);
		if (seen.length > 0) {
			for (const ms of seen) model = addSample(model, ms);
			snap = snapshot(scenario.assetType, model);
		}
		const plan = planChecks({
			strategy,
			assetId: a.id,
			anchor: a.registeredAt,
			ageMs: a.registeredAt - a.createdAt,
			model: fixedModel ?? snap,
			settings: o.settings,
			checkCostMs: o.checkCostMs,
		});
		observe?.(a, plan);
		const finishAt = a.createdAt + a.durationMs;
		const [k, seenAt] = firstCheckFrom(plan, finishAt);
		// The model object learns the upstream's own duration when the terminal answer arrives.
		const learnedAt = seenAt + o.modelDelayMs;
		pending.push(learnedAt, a.durationMs);
		return { calls: k + 1, delayMs: seenAt - Math.max(finishAt, a.registeredAt), learnedAt };
	});
}

const percentile = (sorted: number[], p: number) =>
	sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;

export function summarize(scenario: string, strategy: PollStrategy, outcomes: AssetOutcome[]): Summary {
	const delays = outcomes.map((x) => x.delayMs).sort((a, b) => a - b);
	const n = Math.max(1, outcomes.length);
	return {
		scenario,
		strategy,
		assets: outcomes.length,
		callsPerAsset: outcomes.reduce((s, x) => s + x.calls, 0) / n,
		meanDelayMs: delays.reduce((s, x) => s + x, 0) / n,
		p95DelayMs: percentile(delays, 0.95),
		p99DelayMs: percentile(delays, 0.99),
		maxDelayMs: delays.at(-1) ?? 0,
	};
}

/** Every scenario under every strategy. */
export function simulate(options: Partial<SimOptions> = {}, scenarios = SCENARIOS): Summary[] {
	const o = { ...DEFAULT_SIM, ...options };
	return scenarios.flatMap((sc) => {
		const assets = makeAssets(sc, o);
		return POLL_STRATEGIES.map((st) => summarize(sc.name, st, runStrategy(sc, st, assets, o)));
	});
}

export type Recovery = {
	/** registrations after the shift until adaptive's plans are back level (null: never) */
	registrations: number | null;
	/** how many finished post-shift assets the model had learned by then */
	learned: number | null;
	assetsAfterShift: number;
};

/** Mean of delay + c · calls of `plan` for an asset created at `createdAt`, over `durations`. */
function expectedCost(plan: Plan, createdAt: number, durations: number[], c: number): number {
	let sum = 0;
	for (const d of durations) {
		const finish = createdAt + d;
		const [k, seenAt] = firstCheckFrom(plan, finish);
		sum += seenAt - Math.max(finish, plan.anchor) + c * (k + 1);
	}
	return sum / durations.length;
}

/**
 * How soon adaptive follows a shift. For each registration after it, the plan adaptive made (from
 * its online model) and the plan the same asset gets from a model of 200 durations of the new
 * distribution are both scored by their expected cost (delay + c · calls, what the planner
 * minimises) over 1000 fixed draws of the new distribution, so only the models differ. Recovered:
 * the first registration from which every later plan is within `tolerance` of the informed one.
 */
export function shiftRecovery(
	options: Partial<SimOptions> = {},
	scenario = SCENARIOS.find((s) => s.name === "shift") as Scenario,
	tolerance = 0.1,
): Recovery {
	const o = { ...DEFAULT_SIM, ...options };
	const assets = makeAssets(scenario, o);
	const rand = prng(o.seed ^ 0x5eed);
	let known = emptyModel();
	for (let i = 0; i < MODEL_WINDOW; i++) known = addSample(known, scenario.distribution(rand, 1));
	const informed = snapshot(scenario.assetType, known);
	const durations = Array.from({ length: 1000 }, () => scenario.distribution(rand, 1));
	const half = Math.ceil(assets.length / 2);
	const plans: Plan[] = [];
	const outcomes = runStrategy(scenario, "adaptive", assets, o, undefined, (_, plan) => plans.push(plan));
	const ratios = assets.slice(half).map((a, i) => {
		const own = plans[half + i] as Plan;
		const best = planChecks({
			strategy: "adaptive",
			assetId: a.id,
			anchor: a.registeredAt,
			ageMs: a.registeredAt - a.createdAt,
			model: informed,
			settings: o.settings,
			checkCostMs: o.checkCostMs,
		});
		const score = (p: Plan) => expectedCost(p, a.createdAt, durations, o.checkCostMs);
		return score(own) / score(best);
	});
	let registrations: number | null = null;
	for (let i = ratios.length - 1; i >= 0 && (ratios[i] as number) <= 1 + tolerance; i--) registrations = i;
	const assetsAfterShift = ratios.length;
	if (registrations === null) return { registrations, learned: null, assetsAfterShift };
	const at = (assets[half + registrations] as SimAsset).registeredAt;
	const learned = outcomes.slice(half).filter((x) => x.learnedAt <= at).length;
	return { registrations, learned, assetsAfterShift };
}

const sec = (ms: number) => (ms / 1000).toFixed(1);

/** The table as Markdown: per scenario and strategy, calls and delays, and adaptive ÷ backoff. */
export function formatTable(rows: Summary[]): string {
	const head =
		"| distribution | strategy | calls/asset | ÷ backoff | mean delay s | ÷ backoff | p95 s | p99 s | max s |";
	const lines = [head, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
	for (const r of rows) {
		const b = rows.find((x) => x.scenario === r.scenario && x.strategy === "backoff") ?? r;
		lines.push(
			`| ${r.scenario} | ${r.strategy} | ${r.callsPerAsset.toFixed(2)} | ${(r.callsPerAsset / b.callsPerAsset).toFixed(2)} | ${sec(r.meanDelayMs)} | ${(r.meanDelayMs / b.meanDelayMs).toFixed(2)} | ${sec(r.p95DelayMs)} | ${sec(r.p99DelayMs)} | ${sec(r.maxDelayMs)} |`,
		);
	}
	return lines.join("\n");
}

export type SimulationRun = { options: SimOptions; rows: Summary[]; recovery: Recovery };

/** Every scenario under every strategy, and the shift recovery: what the bench records. */
export function runSimulation(options: Partial<SimOptions> = {}): SimulationRun {
	const o = { ...DEFAULT_SIM, ...options };
	return { options: o, rows: simulate(o), recovery: shiftRecovery(o) };
}

/** What the bench and the docs print: settings, distributions, the table and the shift recovery. */
export function formatReport(run: SimulationRun): string {
	const { options: o, recovery: rec } = run;
	const s = o.settings;
	return [
		`schedule simulator: ${o.assets} assets per distribution, seed ${o.seed}, a registration every ${sec(o.meanArrivalMs)} s on average (0–${sec(o.maxRegistrationLagMs)} s after CreateTime), model ${sec(o.modelDelayMs)} s old; POLL_INITIAL_MS=${s.initialMs} POLL_MAX_MS=${s.maxMs} POLL_BACKOFF=${s.backoff}, c=${o.checkCostMs} ms`,
		...SCENARIOS.map((sc) => `- ${sc.name} (${sc.assetType}): ${sc.what}`),
		"",
		formatTable(run.rows),
		"",
		rec.registrations === null
			? "shift: adaptive's plans never came within 10 % of a model that knew the new distribution"
			: `shift: from registration ${rec.registrations} after the shift on, once its model had learned ${rec.learned} finished assets of the new kind, every plan adaptive makes is within 10 % of the expected cost (delay + c · calls) of one from a model that knew the new distribution`,
	].join("\n");
}

export const simulationReport = (options: Partial<SimOptions> = {}): string =>
	formatReport(runSimulation(options));

if ((import.meta as { main?: boolean }).main) console.log(simulationReport());
