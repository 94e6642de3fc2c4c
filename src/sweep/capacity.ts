// The sweep's limits as pure values and functions: how late an asset must be before the sweep
// acts on it, and how much one run may do within the Workers subrequest limit.

/** An asset is overdue for the sweep only this long after its lease ran out (alarms fire a little late). */
export const SWEEP_GRACE_MS = 2 * 60_000;
/**
 * Subrequests one sweep run may make: one query per shard plus one heal or purge per asset.
 * Workers allow 1000 per invocation; half leaves room for retries and whatever comes later.
 */
export const SWEEP_SUBREQUEST_BUDGET = 500;
/** The most assets one run acts on per shard, whatever the budget allows. */
export const SWEEP_MAX_PER_SHARD = 100;

/** Assets one sweep run may act on per shard, so that queries + actions stay within the budget. */
export function perShardCap(shards: number, budget = SWEEP_SUBREQUEST_BUDGET): number {
	return Math.max(1, Math.min(SWEEP_MAX_PER_SHARD, Math.floor((budget - shards) / shards)));
}
