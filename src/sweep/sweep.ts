// The cron sweep: asks every index shard for its overdue, TTL-expired and purgeable assets (indexed
// queries, so the cost follows the work found plus the shard count, not the fleet), heals or purges
// each through its asset object, and logs one summary line. The per-run cap keeps it within the
// Workers subrequest limit; heal and purge are idempotent, so two overlapping runs are harmless.

import { inBatches } from "../core/batches";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { errorText, logEvent } from "../core/log";
import { indexShard, type SweepCandidates } from "../watch-index/watch-index";
import { assetWatcher } from "../watcher/asset-watcher";
import { perShardCap, SWEEP_GRACE_MS } from "./capacity";

export interface SweepSummary {
	shards: number;
	/** index rows read to find the work (SQLite's own count, summed over shards) */
	examined: number;
	/** assets whose alarm was missing and is set again (a heal of a healthy asset only refreshes its index row) */
	rearmed: number;
	/** watches the sweep expired past WATCH_TTL_S (each gets its watch.expired ttl callback) */
	expired: number;
	/** assets whose storage was deleted */
	purged: number;
	/** shard queries and asset calls that threw (the next run retries them) */
	failed: number;
	/** some shard hit the per-run cap: the next run continues */
	more: boolean;
	ms: number;
}

/** Asset calls in flight at once: each is a subrequest, and a few at a time keep the run quick. */
const CONCURRENCY = 8;

/** One sweep over every shard, returning the summary (the cron handler logs it; benchmarks read it). */
export async function runSweep(env: Env): Promise<SweepSummary> {
	const started = Date.now();
	const config = loadConfig(env);
	const shards = config.INDEX_SHARDS;
	const now = clock.now();
	const cap = perShardCap(shards);
	const summary: SweepSummary = {
		shards,
		examined: 0,
		rearmed: 0,
		expired: 0,
		purged: 0,
		failed: 0,
		more: false,
		ms: 0,
	};

	const found = await Promise.all(
		Array.from({ length: shards }, async (_, shard): Promise<SweepCandidates | null> => {
			try {
				return await indexShard(env, shard).candidates(
					now,
					SWEEP_GRACE_MS,
					now - config.RETENTION_S * 1000,
					cap,
				);
			} catch (err) {
				summary.failed++;
				logEvent("warn", "sweep shard failed", { shard, error: errorText(err) });
				return null;
			}
		}),
	);

	type Job = { kind: "heal" | "purge"; asset_id: string; version: number };
	const jobs: Job[] = [];
	for (const c of found) {
		if (!c) continue;
		summary.examined += c.examined;
		summary.more ||= c.more;
		for (const h of c.heal) jobs.push({ kind: "heal", ...h });
		for (const p of c.purge) jobs.push({ kind: "purge", ...p });
	}

	await inBatches(jobs, CONCURRENCY, async (job) => {
		const asset = assetWatcher(env, job.asset_id);
		try {
			if (job.kind === "heal") {
				const r = await asset.heal(job.asset_id, job.version);
				if (r.rearmed) summary.rearmed++;
				summary.expired += r.expired;
			} else if ((await asset.purge(job.asset_id, job.version)).purged) {
				summary.purged++;
			}
		} catch (err) {
			summary.failed++;
			logEvent("warn", "sweep call failed", {
				kind: job.kind,
				asset_id: job.asset_id,
				error: errorText(err),
			});
		}
	});

	summary.ms = Date.now() - started;
	return summary;
}

/** The cron handler's sweep: runs once and logs exactly one summary line. */
export async function sweep(env: Env): Promise<SweepSummary> {
	const s = await runSweep(env);
	logEvent("info", "sweep", {
		shards: s.shards,
		examined: s.examined,
		rearmed: s.rearmed,
		expired: s.expired,
		purged: s.purged,
		ms: s.ms,
		failed: s.failed,
		more: s.more,
	});
	return s;
}
