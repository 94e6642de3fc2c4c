// Seeded randomness and the processing-time distributions the schedule simulator runs over: a
// small PRNG (so a seed gives the same run on every machine), log-normal, Pareto and mixtures, and
// the named scenarios of issue 11 (quick images, slow videos, bimodal, heavy-tailed, a shift).
// sim/crun.mjs implements the same families for the HTTP simulator; test/e2e/sim.test.ts checks it.

/** mulberry32: 32-bit state, uniform in [0, 1). Plenty for a simulator; not for secrets. */
export function prng(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
	};
}

/** A standard normal draw (Box–Muller; 1 − u keeps the log finite). */
export function normal(rand: () => number): number {
	return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** A processing-time distribution: one draw in ms, given the asset's position in the run (0..1). */
export type Distribution = (rand: () => number, progress: number) => number;

export const logNormal =
	(medianMs: number, sigma: number): Distribution =>
	(rand) =>
		medianMs * Math.exp(sigma * normal(rand));

/** Pareto with scale `minMs` and shape `alpha` (α ≤ 2: infinite variance), cut at `capMs`. */
export const pareto =
	(minMs: number, alpha: number, capMs: number): Distribution =>
	(rand) =>
		Math.min(capMs, minMs / (1 - rand()) ** (1 / alpha));

export const mixture =
	(parts: readonly (readonly [weight: number, d: Distribution])[]): Distribution =>
	(rand, progress) => {
		const total = parts.reduce((n, [w]) => n + w, 0);
		let u = rand() * total;
		for (const [w, d] of parts) {
			if (u < w) return d(rand, progress);
			u -= w;
		}
		return (parts.at(-1) as readonly [number, Distribution])[1](rand, progress);
	};

/** `before` for the first half of the run, `after` from the middle on. */
export const shift =
	(before: Distribution, after: Distribution): Distribution =>
	(rand, progress) =>
		progress < 0.5 ? before(rand, progress) : after(rand, progress);

/**
 * A distribution as data, in the same JSON shape sim/crun.mjs takes per AssetType (its control API,
 * CRUN_SIM_DISTRIBUTIONS), so the HTTP simulator can be given exactly what this one runs.
 */
export type DistributionSpec =
	| { kind: "fixed"; ms: number }
	| { kind: "lognormal"; medianMs: number; sigma: number }
	| { kind: "pareto"; minMs: number; alpha: number; capMs?: number }
	| { kind: "mixture"; parts: { weight: number; of: DistributionSpec }[] };

export function fromSpec(spec: DistributionSpec): Distribution {
	switch (spec.kind) {
		case "fixed":
			return () => spec.ms;
		case "lognormal":
			return logNormal(spec.medianMs, spec.sigma);
		case "pareto":
			return pareto(spec.minMs, spec.alpha, spec.capMs ?? Number.POSITIVE_INFINITY);
		case "mixture":
			return mixture(spec.parts.map((p) => [p.weight, fromSpec(p.of)] as const));
	}
}

export type Scenario = {
	name: string;
	assetType: string;
	what: string;
	distribution: Distribution;
	/** the same distribution as data, where it is one (the shift depends on the run's progress) */
	spec?: DistributionSpec;
};

const scenario = (name: string, assetType: string, what: string, spec: DistributionSpec): Scenario => ({
	name,
	assetType,
	what,
	spec,
	distribution: fromSpec(spec),
});

export const SCENARIOS: readonly Scenario[] = [
	scenario("quick", "Image", "log-normal, median 30 s, σ 0.5", {
		kind: "lognormal",
		medianMs: 30_000,
		sigma: 0.5,
	}),
	scenario("slow", "Video", "log-normal, median 5 min, σ 0.5", {
		kind: "lognormal",
		medianMs: 300_000,
		sigma: 0.5,
	}),
	scenario("bimodal", "Audio", "60 % log-normal 20 s, 40 % log-normal 4 min, σ 0.3", {
		kind: "mixture",
		parts: [
			{ weight: 0.6, of: { kind: "lognormal", medianMs: 20_000, sigma: 0.3 } },
			{ weight: 0.4, of: { kind: "lognormal", medianMs: 240_000, sigma: 0.3 } },
		],
	}),
	scenario("heavy", "Video", "Pareto, from 20 s, α 1.5 (cut at 2 h)", {
		kind: "pareto",
		minMs: 20_000,
		alpha: 1.5,
		capMs: 7_200_000,
	}),
	{
		name: "shift",
		assetType: "Video",
		what: "log-normal σ 0.5, median 1 min, then 4 min from half-way",
		distribution: shift(logNormal(60_000, 0.5), logNormal(240_000, 0.5)),
	},
];
