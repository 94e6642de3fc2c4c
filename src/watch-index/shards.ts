// The index's placement and freshness as pure functions: which shard an asset lives in, and the
// lease an asset promises the index (a heartbeat, so a polling asset rewrites its index rows once
// per HEARTBEAT_MS rather than on every check, and knows when without storing anything).

import { fnv1a } from "../core/hash";

/**
 * The shard an asset's rows live in. By asset id, never by token: one token may make every
 * registration, while asset ids spread evenly (and all of an asset's watches share its shard).
 */
export function shardOf(assetId: string, shards: number): number {
	return fnv1a(assetId) % shards;
}

export const shardName = (shard: number) => `shard-${shard}`;

/**
 * A live asset promises the index to have run again by its lease; the sweep heals an asset whose
 * lease ran out. A polling asset renews it once per HEARTBEAT_MS, so a lost alarm is found within
 * 2 × this + the sweep's grace. The longer it is, the fewer index writes a long poll costs.
 */
export const HEARTBEAT_MS = 30 * 60_000;

/** Assets renew their leases at different moments (an offset per asset), not all on the same tick. */
function leaseOffset(assetId: string): number {
	return fnv1a(`lease:${assetId}`) % HEARTBEAT_MS;
}

/** The heartbeat period a time falls in, for this asset. */
export function leasePeriod(t: number, assetId: string): number {
	return Math.floor((t + leaseOffset(assetId)) / HEARTBEAT_MS);
}

/**
 * The lease to publish for an asset whose next run is due at `due`: the end of the period after
 * `due`'s, so never earlier than one heartbeat past the due time (a healthy asset is never taken
 * for overdue, and one missed renewal is covered) and never more than two heartbeats past it.
 */
export function leaseFor(due: number, assetId: string): number {
	return (leasePeriod(due, assetId) + 2) * HEARTBEAT_MS - leaseOffset(assetId);
}

/**
 * Whether a run that started at `runAt` and is next due at `due` must renew its lease. Memoryless:
 * the previous run was due at `runAt`, so it renewed for that period; only a move into a later
 * period needs a new lease.
 */
export function leaseRenewalDue(runAt: number, due: number, assetId: string): boolean {
	return leasePeriod(due, assetId) !== leasePeriod(runAt, assetId);
}
