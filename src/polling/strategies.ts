// The check planners behind POLL_STRATEGY, each a pure function from what is known at the caller's
// check (the asset, its age, its type's model snapshot, the settings) to a Plan (see plan.ts):
// `backoff` is SPEC §5's growing interval, `fixed` checks every POLL_MAX_MS (a baseline), and
// `adaptive` places checks with density √(hazard / 2c) (Keller 1974), falls back to backoff below
// MIN_SAMPLES, and past the model's p99 grows its gaps back to POLL_MAX_MS. Every gap of every plan
// is at most POLL_MAX_MS; adaptive's are at least POLL_INITIAL_MS (backoff's first may be 10 % less).

import { jitter } from "../core/jitter.ts";
import { type HazardBin, hazardBins, isUsable, type TypeSnapshot } from "./model.ts";
import { MAX_PLAN_POINTS, type Plan, seededUnit, tailGap } from "./plan.ts";
import { type PollSettings, pollInterval } from "./schedule.ts";

export const POLL_STRATEGIES = ["adaptive", "backoff", "fixed"] as const;
export type PollStrategy = (typeof POLL_STRATEGIES)[number];

/**
 * Keller's c: how much expected delay (ms) one upstream check must save to be worth making. The
 * optimal density of checks is √(h(t) / 2c); smaller c checks more often. docs/polling.md shows
 * what this value buys on the simulator's distributions.
 */
export const CHECK_COST_MS = 1300;

export type PlanRequest = {
	strategy: PollStrategy;
	assetId: string;
	/** when the caller's own check ran (epoch ms): check 0 of the plan */
	anchor: number;
	/** how long the asset had been processing at the anchor (anchor − CreateTime); null if unknown */
	ageMs: number | null;
	/** the snapshot of the asset's type, or null when there is none */
	model: TypeSnapshot | null;
	settings: PollSettings;
	checkCostMs?: number;
	/**
	 * The plan's dice: a uniform number in [0, 1) per slot. By default seeded from the asset id and
	 * the anchor (the same inputs give the same plan anywhere); the asset object passes its clock's
	 * randomness, since it stores the plan it makes and tests pin that randomness.
	 */
	dice?: Dice;
};

/** A uniform number in [0, 1) for one slot of a plan (a check's index, or "tail"). */
export type Dice = (slot: number | string) => number;

const seeded =
	(assetId: string, anchor: number): Dice =>
	(slot) =>
		seededUnit(assetId, anchor, slot);

export function planChecks(req: PlanRequest): Plan {
	const dice = req.dice ?? seeded(req.assetId, req.anchor);
	switch (req.strategy) {
		case "fixed":
			return planFixed(req.assetId, req.anchor, req.settings, dice);
		case "backoff":
			return planBackoff(req.assetId, req.anchor, req.settings, dice);
		case "adaptive":
			if (!isUsable(req.model))
				return { ...planBackoff(req.assetId, req.anchor, req.settings, dice), basis: "few_samples" };
			return planAdaptive(req.assetId, req.anchor, req.ageMs, req.model, req.settings, req.checkCostMs, dice);
	}
}

/** POLL_INITIAL_MS · POLL_BACKOFF^k (±10 %, never above POLL_MAX_MS) until the cap, then the cap. */
export function planBackoff(
	assetId: string,
	anchor: number,
	s: PollSettings,
	dice: Dice = seeded(assetId, anchor),
): Plan {
	const times: number[] = [];
	let at = anchor;
	let k = 0;
	while (times.length < MAX_PLAN_POINTS && pollInterval(k, s) < s.maxMs) {
		at += Math.max(1, Math.min(s.maxMs, jitter(pollInterval(k, s), dice(k))));
		times.push(at);
		k++;
	}
	const tailMs = tailGap(pollInterval(k, s), s.maxMs, dice("tail"));
	return { rule: "backoff", basis: "schedule", anchor, times, tailMs };
}

export function planFixed(
	assetId: string,
	anchor: number,
	s: PollSettings,
	dice: Dice = seeded(assetId, anchor),
): Plan {
	const tailMs = tailGap(s.maxMs, s.maxMs, dice("tail"));
	return { rule: "fixed", basis: "schedule", anchor, times: [], tailMs };
}

/**
 * Φ(age) = ∫₀^age √h: Keller's optimal schedule puts one check per √(2c) of Φ. With the hazard
 * constant between knots, Φ is piecewise linear and so is its inverse.
 */
type Phi = { at(age: number): number; inverse(y: number): number; horizon: number };

function phiOf(bins: HazardBin[]): Phi {
	const starts: number[] = [];
	let total = 0;
	for (const b of bins) {
		starts.push(total);
		total += Math.sqrt(b.hazardPerMs) * (b.to - b.from);
	}
	const horizon = bins.at(-1)?.to ?? 0;
	return {
		horizon,
		at(age) {
			for (let i = bins.length - 1; i >= 0; i--) {
				const b = bins[i] as HazardBin;
				if (age >= b.from)
					return (starts[i] as number) + Math.sqrt(b.hazardPerMs) * (Math.min(age, b.to) - b.from);
			}
			return 0;
		},
		inverse(y) {
			if (y >= total) return Number.POSITIVE_INFINITY;
			for (let i = bins.length - 1; i >= 0; i--) {
				const b = bins[i] as HazardBin;
				const start = starts[i] as number;
				if (y >= start) return b.from + (y - start) / Math.sqrt(b.hazardPerMs);
			}
			return bins[0]?.from ?? 0;
		},
	};
}

/**
 * Checks where assets of this type finish, given that this one has been processing `ageMs`.
 * Each gap is the Keller step (one check per √(2c) of Φ), ±10 % jitter, within
 * [POLL_INITIAL_MS, POLL_MAX_MS], and never steps past the model's p99 without a check there.
 * From p99 on the gaps grow by POLL_BACKOFF to the cap; the tail (and anything after
 * MAX_PLAN_POINTS checks) runs at POLL_MAX_MS. An asset already past p99 gets the tail at once.
 */
export function planAdaptive(
	assetId: string,
	anchor: number,
	ageMs: number | null,
	model: TypeSnapshot,
	s: PollSettings,
	checkCostMs = CHECK_COST_MS,
	dice: Dice = seeded(assetId, anchor),
): Plan {
	const phi = phiOf(hazardBins(model));
	const step = Math.sqrt(2 * checkCostMs);
	const floor = Math.min(s.initialMs, s.maxMs);
	const tailMs = tailGap(s.maxMs, s.maxMs, dice("tail"));
	const times: number[] = [];
	let age = Math.max(0, ageMs ?? 0);
	let at = anchor;
	while (times.length < MAX_PLAN_POINTS && age < phi.horizon) {
		const keller = Math.min(phi.inverse(phi.at(age) + step), phi.horizon) - age;
		const gap = Math.round(Math.min(s.maxMs, Math.max(floor, jitter(keller, dice(times.length)))));
		at += gap;
		age += gap;
		times.push(at);
	}
	const basis = times.length === 0 ? "past_tail" : "model";
	// Past p99 the model knows nothing, but the hazard has not vanished there: grow the last gap
	// by POLL_BACKOFF back to the cap (a few checks, paid only by the 1 % that get this far).
	let gap = times.length > 0 ? at - (times.at(-2) ?? anchor) : s.maxMs;
	while (s.backoff > 1 && times.length > 0 && times.length < MAX_PLAN_POINTS && gap * s.backoff < s.maxMs) {
		gap = Math.max(floor, Math.round(gap * s.backoff));
		at += gap;
		times.push(at);
	}
	return { rule: "adaptive", basis, anchor, times, tailMs };
}
