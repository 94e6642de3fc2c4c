// The index's and the sweep's decisions as pure functions: which shard an asset lives in, the
// due-time lease an asset promises the index (a heartbeat, so a polling asset rewrites its index
// row a few times an hour rather than on every check), how much one sweep run may do, and the
// opaque list cursor.

/** A polling asset renews its index lease at most this often; a lost alarm is found within 2× this + the grace. */
export const HEARTBEAT_MS = 5 * 60_000;
/** An asset is overdue for the sweep only this long after its lease ran out (alarms fire a little late). */
export const SWEEP_GRACE_MS = 2 * 60_000;
/**
 * Subrequests one sweep run may make: one query per shard plus one heal or purge per asset.
 * Workers allow 1000 per invocation; half leaves room for retries and whatever comes later.
 */
export const SWEEP_SUBREQUEST_BUDGET = 500;
/** The most assets one run acts on per shard, whatever the budget allows. */
export const SWEEP_MAX_PER_SHARD = 100;

/** FNV-1a (32 bit) over the UTF-8 bytes: stable across isolates, deploys and runtimes. */
export function fnv1a(text: string): number {
	let h = 0x811c9dc5;
	for (const b of new TextEncoder().encode(text)) {
		h ^= b;
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h >>> 0;
}

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

/** Assets one sweep run may act on per shard, so that queries + actions stay within the budget. */
export function perShardCap(shards: number, budget = SWEEP_SUBREQUEST_BUDGET): number {
	return Math.max(1, Math.min(SWEEP_MAX_PER_SHARD, Math.floor((budget - shards) / shards)));
}

/** A position in the list order (created_at, then id). */
export type ListPosition = { created_at: number; id: string };

export function encodeCursor(p: ListPosition): string {
	const bytes = new TextEncoder().encode(JSON.stringify([p.created_at, p.id]));
	let bin = "";
	for (const b of bytes) bin += String.fromCharCode(b);
	return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The position a cursor names, or null when it is not one this service made. */
export function decodeCursor(cursor: string): ListPosition | null {
	if (!/^[A-Za-z0-9_-]{1,600}$/.test(cursor)) return null;
	try {
		const bin = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
		const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
			Uint8Array.from(bin, (c) => c.charCodeAt(0)),
		);
		const value: unknown = JSON.parse(text);
		if (!Array.isArray(value) || value.length !== 2) return null;
		const [createdAt, id] = value;
		if (!Number.isSafeInteger(createdAt) || typeof id !== "string" || id.length === 0 || id.length > 400)
			return null;
		return { created_at: createdAt, id };
	} catch {
		return null;
	}
}

/** Orders list items the way every shard does: created_at, then id. */
export function compareListPosition(a: ListPosition, b: ListPosition): number {
	if (a.created_at !== b.created_at) return a.created_at - b.created_at;
	return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
