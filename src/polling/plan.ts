// A check plan: the whole future schedule of one asset's upstream checks, made once and stored once,
// so that an asset object derives "which check is this, when was the last, when is the next" from
// the plan and its pending alarm instead of writing a step counter at every check.
//
// Format. Check 0 is `anchor` (the caller's own check, at registration, that the plan follows).
// Checks 1..n are `times[0..n-1]`: absolute epoch ms, integers, strictly increasing, after the
// anchor, n ≤ MAX_PLAN_POINTS. After the last of them (or after the anchor when n = 0) checks go on
// forever every `tailMs` (an integer ≥ 1, never above POLL_MAX_MS):
//   checkAt(k) = anchor                          k = 0
//              = times[k-1]                      1 ≤ k ≤ n
//              = (times[n-1] ?? anchor) + (k-n)·tailMs   k > n
// `locate(plan, t)` is its exact inverse: the largest k with checkAt(k) ≤ t, and its neighbours.
// Jitter is decided when the plan is made, from a hash of the asset id and the anchor, so the same
// inputs make the same plan anywhere.

import { z } from "zod";
import { fnv1a } from "../core/hash.ts";
import { jitter } from "../core/jitter.ts";

export const MAX_PLAN_POINTS = 64;

export type PlanRule = "adaptive" | "backoff" | "fixed";
/** Why the plan looks the way it does: the model placed it, or which fallback did. */
export type PlanBasis = "model" | "few_samples" | "past_tail" | "schedule";

export type Plan = {
	rule: PlanRule;
	basis: PlanBasis;
	anchor: number;
	times: number[];
	tailMs: number;
};

export type PlanPosition = {
	/** the largest k with checkAt(plan, k) ≤ t; -1 before the anchor */
	index: number;
	/** checkAt(plan, index), or null before the anchor */
	previousAt: number | null;
	/** checkAt(plan, index + 1): the first plan check strictly after t */
	nextAt: number;
};

/** A uniform number in [0, 1) from the asset id, the plan's anchor and a slot: the plan's dice. */
export function seededUnit(assetId: string, anchor: number, slot: number | string): number {
	return fnv1a(`${assetId}\u0000${anchor}\u0000${slot}`) / 2 ** 32;
}

/**
 * The steady interval after the explicit checks: `baseMs` with ±10 % jitter, but never above
 * `maxMs`, so the cap holds between any two checks. At the cap that is 0.9–1 × POLL_MAX_MS.
 */
export function tailGap(baseMs: number, maxMs: number, rand: number): number {
	return Math.max(1, Math.min(Math.floor(maxMs), jitter(baseMs, rand)));
}

const lastExplicit = (plan: Plan): number => plan.times.at(-1) ?? plan.anchor;

/** The time of check k (k = 0 is the anchor). */
export function checkAt(plan: Plan, k: number): number {
	if (k <= 0) return plan.anchor;
	const n = plan.times.length;
	if (k <= n) return plan.times[k - 1] as number;
	return lastExplicit(plan) + (k - n) * plan.tailMs;
}

/** Where `t` falls in the plan; `locate(plan, checkAt(plan, k)).index === k` for every k ≥ 0. */
export function locate(plan: Plan, t: number): PlanPosition {
	if (t < plan.anchor) return { index: -1, previousAt: null, nextAt: plan.anchor };
	const { times } = plan;
	const last = lastExplicit(plan);
	if (t >= last) {
		const j = Math.floor((t - last) / plan.tailMs);
		const previousAt = last + j * plan.tailMs;
		return { index: times.length + j, previousAt, nextAt: previousAt + plan.tailMs };
	}
	// times[lo-1] ≤ t < times[lo]: the number of explicit checks at or before t is lo.
	let lo = 0;
	let hi = times.length - 1;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if ((times[mid] as number) <= t) lo = mid + 1;
		else hi = mid;
	}
	return {
		index: lo,
		previousAt: lo === 0 ? plan.anchor : (times[lo - 1] as number),
		nextAt: times[lo] as number,
	};
}

/** The first plan check at or after `t` (where an asset that finished at `t` is seen), as [k, time]. */
export function firstCheckFrom(plan: Plan, t: number): [number, number] {
	if (t <= plan.anchor) return [0, plan.anchor];
	const { index } = locate(plan, t - 1);
	return [index + 1, checkAt(plan, index + 1)];
}

// The stored form: gaps instead of absolute times (shorter, and increasing by construction).
const StoredPlanSchema = z.object({
	v: z.literal(1),
	r: z.enum(["adaptive", "backoff", "fixed"]),
	b: z.enum(["model", "few_samples", "past_tail", "schedule"]),
	a: z.number().int().min(0),
	g: z.array(z.number().int().min(1)).max(MAX_PLAN_POINTS),
	t: z.number().int().min(1),
});

export function serializePlan(plan: Plan): string {
	const gaps = plan.times.map((t, i) => t - (i === 0 ? plan.anchor : (plan.times[i - 1] as number)));
	return JSON.stringify({ v: 1, r: plan.rule, b: plan.basis, a: plan.anchor, g: gaps, t: plan.tailMs });
}

/** The plan in a stored row, or null when it is not one (never a throw): the caller plans afresh. */
export function parsePlan(text: unknown): Plan | null {
	if (typeof text !== "string") return null;
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch {
		return null;
	}
	const p = StoredPlanSchema.safeParse(raw);
	if (!p.success) return null;
	const times: number[] = [];
	let at = p.data.a;
	for (const gap of p.data.g) {
		at += gap;
		times.push(at);
	}
	if (!Number.isSafeInteger(at + p.data.t)) return null;
	return { rule: p.data.r, basis: p.data.b, anchor: p.data.a, times, tailMs: p.data.t };
}
