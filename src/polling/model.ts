// The processing-time model of one AssetType: the durations of its last MODEL_WINDOW finished
// assets (a sliding window, so a change of the upstream's speed is followed), their compact JSON
// for one SQLite row per type, and the snapshot every asset object plans from: sample count,
// duration at fixed survival knots, and the piecewise-constant hazard between them. Pure: no
// clock, no storage; parsing never throws (a corrupt row reads as an empty model, and says so).

import { z } from "zod";

/** Finished assets remembered per type. A shift is half absorbed after 100, fully after 200. */
export const MODEL_WINDOW = 200;
/** Below this many samples the planner falls back to the backoff schedule. */
export const MIN_SAMPLES = 20;
/** Longer than any watch lives (WATCH_TTL_S caps at a year): anything longer is not a duration. */
export const MAX_SAMPLE_MS = 366 * 86_400_000;
/** A junk AssetType string must not make a huge key (or row). */
export const MAX_TYPE_KEY_LENGTH = 64;
/**
 * Cumulative probabilities at which a snapshot keeps the duration (its "knots"). Every 5 % is
 * 10 samples of a full window between knots: coarse enough to smooth, fine enough to follow a
 * bimodal shape. Beyond p99 the model claims nothing (the planner polls at POLL_MAX_MS there).
 */
export const KNOT_PROBABILITIES: readonly number[] = [...Array.from({ length: 20 }, (_, i) => i / 20), 0.99];

/** The stored form: durations in ms, oldest first. */
const StoredModelSchema = z.object({
	v: z.literal(1),
	s: z.array(z.number().int().min(0).max(MAX_SAMPLE_MS)).max(MODEL_WINDOW),
});
export type TypeModel = { samples: number[] };

/** What a planner needs of one type, small enough to cache in every isolate (~250 bytes as JSON). */
export type TypeSnapshot = {
	type: string;
	samples: number;
	/** duration (ms) at each of KNOT_PROBABILITIES, strictly increasing; empty without samples */
	knots: number[];
	p10: number | null;
	p50: number | null;
	p90: number | null;
	p99: number | null;
};

/** One stretch of a snapshot's survival curve, with the constant hazard inside it. */
export type HazardBin = { from: number; to: number; survivalAtFrom: number; hazardPerMs: number };

export const emptyModel = (): TypeModel => ({ samples: [] });

/** The key a type's model is stored under: the upstream's AssetType string, or "unknown". */
export function modelKey(assetType: string | null | undefined): string {
	const t = (assetType ?? "").trim().slice(0, MAX_TYPE_KEY_LENGTH);
	return t === "" ? "unknown" : t;
}

/** Slack for whole-second upstream times and clock skew when checking the upstream's own duration. */
const SKEW_MS = 5000;

/**
 * How long a finished asset took to process: the upstream's UpdateTime at its terminal answer
 * minus its CreateTime. Where those are missing, run backwards, or claim less than a check saw
 * (an upstream that never moves UpdateTime would otherwise teach "0 ms" and stall the model), the
 * middle of the last Processing check and the terminal one, from CreateTime; without CreateTime,
 * first check → terminal check. Null when nothing says anything (finished at the first check, no times).
 */
export function durationSample(a: {
	createTime: string | null;
	updateTime: string | null;
	firstCheckAt: number | null;
	terminalCheckAt: number;
	/** the last check that still answered Processing, if any */
	lastProcessingAt?: number | null;
}): number | null {
	const valid = (ms: number) => Number.isFinite(ms) && ms >= 0 && ms <= MAX_SAMPLE_MS;
	const created = a.createTime === null ? Number.NaN : Date.parse(a.createTime);
	const updated = a.updateTime === null ? Number.NaN : Date.parse(a.updateTime);
	const seen = a.lastProcessingAt ?? null;
	const upstream = updated - created;
	if (valid(upstream) && (seen === null || upstream >= seen - created - SKEW_MS)) return Math.round(upstream);
	if (seen !== null && valid(seen - created)) return Math.round((seen + a.terminalCheckAt) / 2 - created);
	if (a.firstCheckAt === null) return null;
	const observed = a.terminalCheckAt - a.firstCheckAt;
	return observed > 0 && observed <= MAX_SAMPLE_MS ? Math.round(observed) : null;
}

/** The model with one more finished asset; the oldest leaves once the window is full. */
export function addSample(model: TypeModel, durationMs: number): TypeModel {
	if (!Number.isFinite(durationMs) || durationMs < 0 || durationMs > MAX_SAMPLE_MS) return model;
	const samples = [...model.samples, Math.round(durationMs)];
	return { samples: samples.length > MODEL_WINDOW ? samples.slice(samples.length - MODEL_WINDOW) : samples };
}

export const serializeModel = (model: TypeModel): string => JSON.stringify({ v: 1, s: model.samples });

/** The model in a stored row. Anything unreadable gives an empty model and the reason, never a throw. */
export function parseModel(text: unknown): { model: TypeModel; problem: string | null } {
	if (typeof text !== "string") return { model: emptyModel(), problem: "no stored model" };
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch {
		return { model: emptyModel(), problem: "stored model is not JSON" };
	}
	const parsed = StoredModelSchema.safeParse(raw);
	if (!parsed.success) return { model: emptyModel(), problem: "stored model has an unknown shape" };
	return { model: { samples: parsed.data.s }, problem: null };
}

/** Type-7 quantile (linear between order statistics) of ascending `sorted`. */
function quantile(sorted: number[], p: number): number {
	const h = (sorted.length - 1) * p;
	const lo = Math.floor(h);
	const a = sorted[lo] ?? 0;
	const b = sorted[Math.min(lo + 1, sorted.length - 1)] ?? a;
	return a + (h - lo) * (b - a);
}

export function snapshot(type: string, model: TypeModel): TypeSnapshot {
	const sorted = [...model.samples].sort((a, b) => a - b);
	if (sorted.length === 0) return { type, samples: 0, knots: [], p10: null, p50: null, p90: null, p99: null };
	const knots: number[] = [];
	for (const p of KNOT_PROBABILITIES) {
		// Strictly increasing, so that every stretch between knots has a finite hazard.
		const q = Math.round(quantile(sorted, p));
		knots.push(knots.length === 0 ? q : Math.max(q, (knots.at(-1) ?? 0) + 1));
	}
	// The shown quantiles are the durations themselves, not the knots nudged apart (40 samples of
	// 3 s have a p90 of 3 s, not 3.018 s).
	const at = (p: number) => Math.round(quantile(sorted, p));
	return { type, samples: sorted.length, knots, p10: at(0.1), p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** Enough samples to plan from. */
export const isUsable = (s: TypeSnapshot | null | undefined): s is TypeSnapshot =>
	s !== null && s !== undefined && s.samples >= MIN_SAMPLES && s.knots.length === KNOT_PROBABILITIES.length;

/**
 * The survival curve as stretches of constant hazard between knots (piecewise-exponential, the
 * actuarial estimate): within a stretch the hazard is ln(S_from / S_to) / width. Before the first
 * knot nothing has ever finished (hazard 0); after the last one the model says nothing.
 */
export function hazardBins(s: TypeSnapshot): HazardBin[] {
	const bins: HazardBin[] = [];
	for (let i = 0; i + 1 < s.knots.length; i++) {
		const from = s.knots[i] ?? 0;
		const to = s.knots[i + 1] ?? from + 1;
		const sFrom = 1 - (KNOT_PROBABILITIES[i] ?? 0);
		const sTo = 1 - (KNOT_PROBABILITIES[i + 1] ?? 1);
		bins.push({ from, to, survivalAtFrom: sFrom, hazardPerMs: Math.log(sFrom / sTo) / (to - from) });
	}
	return bins;
}

/** P(processing lasts longer than `ageMs`) under the snapshot; past p99 the last stretch's hazard goes on. */
export function survival(bins: HazardBin[], ageMs: number): number {
	const first = bins[0];
	if (first === undefined || ageMs <= first.from) return 1;
	for (const b of bins) {
		if (ageMs < b.to) return b.survivalAtFrom * Math.exp(-b.hazardPerMs * (ageMs - b.from));
	}
	const last = bins.at(-1) as HazardBin;
	return last.survivalAtFrom * Math.exp(-last.hazardPerMs * (ageMs - last.from));
}
