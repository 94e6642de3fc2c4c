// The index's placement and freshness as pure functions: which shard an asset lives in, and the
// due-time lease an asset promises the index (a heartbeat, so a polling asset rewrites its index
// row a few times an hour rather than on every check).

import { fnv1a } from "../core/hash";

/** A polling asset renews its index lease at most this often; a lost alarm is found within 2× this + the grace. */
export const HEARTBEAT_MS = 5 * 60_000;

/**
 * The shard an asset's rows live in. By asset id, never by token: one token may make every
 * registration, while asset ids spread evenly (and all of an asset's watches share its shard).
 */
export function shardOf(assetId: string, shards: number): number {
	return fnv1a(assetId) % shards;
}

export const shardName = (shard: number) => `shard-${shard}`;

/**
 * The due time to publish, given the asset's real next due time and the lease it last published.
 * The lease is never earlier than the real due time (a healthy asset is never taken for overdue)
 * and never more than 2 × HEARTBEAT_MS later (a broken one is found soon). Within that window the
 * published lease stands and no index write is needed.
 */
export function leaseFor(due: number | null, published: number | null): number | null {
	if (due === null) return null;
	if (published !== null && due <= published && published - due <= 2 * HEARTBEAT_MS) return published;
	return due + HEARTBEAT_MS;
}
