// The bench's upstream-budget measurement: 400 assets polling under the local runtime against the
// Crun simulator's account-wide rate limit, first 30 calls/s with UPSTREAM_MAX_RPS=20, then the
// simulator tightened to 10/s (below the budget) at run time, and the same load without a budget
// (UPSTREAM_MAX_RPS=0) as the baseline. The simulator's counters are sampled every 100 ms, so the
// busiest 1 s window and the share of calls answered 429 can be read per phase.
// `npm run bench -- budget` runs only this (about two minutes).

import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startCrunSim } from "../sim/crun.mjs";
import { startReceiver } from "../sim/receiver.mjs";
import { localSecrets, startRuntime } from "../test/e2e/harness.mjs";

export const BUDGET = {
	assets: 400,
	maxRps: 20,
	upstreamRps: 30,
	tightenedRps: 10,
	/** from the first registration to the tightening */
	firstPhaseMs: 40_000,
	/** after the tightening; the share of 429s is read from its 10th second on */
	secondPhaseMs: 40_000,
	settleMs: 10_000,
	/** the baseline without a budget */
	baselineMs: 20_000,
	vars: {
		POLL_INITIAL_MS: "500",
		POLL_MAX_MS: "5000",
		POLL_BACKOFF: "1.5",
		POLL_STRATEGY: "backoff",
		ALLOW_PRIVATE_CALLBACKS: "true",
		RATE_LIMIT_PER_MINUTE: "0",
	},
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BUCKET_MS = 100;

/** Samples the simulator's counters every 100 ms: calls and 429s per bucket, from now. */
function sampler(crun) {
	const buckets = [];
	let last = crun.stats();
	const started = Date.now();
	const timer = setInterval(() => {
		const s = crun.stats();
		buckets.push({
			at: Date.now() - started,
			calls: s.calls.total - last.calls.total,
			limited: s.limited - last.limited,
		});
		last = s;
	}, BUCKET_MS);
	return {
		started,
		stop: () => clearInterval(timer),
		/** The busiest 1 s window (10 buckets) and the 429 share between two times (ms since the start). */
		between(fromMs, toMs) {
			const b = buckets.filter((x) => x.at > fromMs && x.at <= toMs);
			let peak = 0;
			for (let i = 0; i < b.length; i++) {
				let n = 0;
				for (let j = i; j < Math.min(b.length, i + 1000 / BUCKET_MS); j++) n += b[j].calls;
				peak = Math.max(peak, n);
			}
			const calls = b.reduce((n, x) => n + x.calls, 0);
			const limited = b.reduce((n, x) => n + x.limited, 0);
			const seconds = (toMs - fromMs) / 1000;
			return {
				calls,
				limited,
				peak_1s: peak,
				mean_per_s: Math.round((calls / seconds) * 10) / 10,
				share_429: calls === 0 ? null : Math.round((limited / calls) * 1000) / 1000,
			};
		},
	};
}

async function registerAll(rt, ids, callbackUrl) {
	for (let i = 0; i < ids.length; i += 100) {
		const res = await rt.fetch("/v1/watches/batch", {
			json: { watches: ids.slice(i, i + 100).map((id) => ({ asset_id: id, callback_url: callbackUrl })) },
		});
		if (res.status !== 200) throw new Error(`batch registration answered ${res.status}`);
		await res.text();
	}
}

async function scenario({ maxRps, log, persistRoot, phases }) {
	const secrets = localSecrets({ crunApiKey: "budget-key", tokens: ["budget-token"] });
	const crun = await startCrunSim({
		apiKey: secrets.CRUN_API_KEY,
		defaultProcessingMs: 24 * 3_600_000,
		rateLimit: BUDGET.upstreamRps,
	});
	const rx = await startReceiver({ secret: secrets.WEBHOOK_SECRET });
	const persistDir = mkdtempSync(join(persistRoot, "seedance-bench-budget-"));
	const rt = await startRuntime({
		vars: { ...BUDGET.vars, UPSTREAM_MAX_RPS: String(maxRps), CRUN_API_BASE: crun.url },
		secrets,
		persistDir,
	});
	try {
		const ids = Array.from({ length: BUDGET.assets }, (_, i) => `bench-budget-${maxRps}-${i}`);
		const s = sampler(crun);
		log(
			`${BUDGET.assets} assets polling, ${maxRps > 0 ? `UPSTREAM_MAX_RPS=${maxRps}` : "no budget"}, the upstream allowing ${BUDGET.upstreamRps}/s`,
		);
		await registerAll(rt, ids, `${rx.url}/bench/budget`);
		return await phases({ s, crun, rt });
	} finally {
		await rt.dispose();
		await Promise.allSettled([crun.close(), rx.close()]);
		rmSync(persistDir, { recursive: true, force: true });
	}
}

async function stats(rt) {
	const res = await rt.fetch("/v1/stats");
	return res.status === 200 ? (await res.json()).upstream : null;
}

/** The whole measurement; `log` prints progress. */
export async function measureBudget({ log = () => {}, persistRoot }) {
	const budgeted = await scenario({
		maxRps: BUDGET.maxRps,
		log,
		persistRoot,
		phases: async ({ s, crun, rt }) => {
			await sleep(BUDGET.firstPhaseMs - (Date.now() - s.started));
			const first = s.between(0, BUDGET.firstPhaseMs);
			const exactPeak = crun.stats().peakPerSecond;
			const atFirst = await stats(rt);
			log(`tightening the upstream to ${BUDGET.tightenedRps}/s`);
			const t = Date.now() - s.started;
			crun.setRateLimit({ perSecond: BUDGET.tightenedRps });
			await sleep(BUDGET.secondPhaseMs);
			s.stop();
			const atEnd = await stats(rt);
			return {
				first_phase: { ...first, peak_1s_exact: exactPeak, budget: atFirst?.budget ?? null },
				tightened: {
					first_10s: s.between(t, t + BUDGET.settleMs),
					after_10s: s.between(t + BUDGET.settleMs, t + BUDGET.secondPhaseMs),
					budget: atEnd?.budget ?? null,
				},
			};
		},
	});
	const baseline = await scenario({
		maxRps: 0,
		log,
		persistRoot,
		phases: async ({ s, crun }) => {
			await sleep(BUDGET.baselineMs - (Date.now() - s.started));
			s.stop();
			return { ...s.between(0, BUDGET.baselineMs), peak_1s_exact: crun.stats().peakPerSecond };
		},
	});
	return { settings: { ...BUDGET }, budgeted, baseline };
}
