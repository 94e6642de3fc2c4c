// The edge cache of status answers (`GET /v1/assets/:asset_id`), in the Workers cache under one
// synthetic key per asset (not per token: status is not token-scoped), and in front of it for a few
// seconds in the isolate's memory: a terminal answer for a minute, a watched Processing one until
// the asset's next check (nothing can change it before), both with a strong ETag. A registration,
// a cancel or a forced refresh forgets or replaces the entry in the isolate and the data centre that
// served it; other isolates there may show the old `watched` for MEMORY_MAX_AGE_MS at most.

import { version } from "../../package.json";
import { clock } from "../core/clock";
import { isTerminal } from "../core/states";

/**
 * How long a terminal answer is served from the edge cache, and at most from a client's cache.
 * The status of a terminal asset never changes; what can is `watched` (a watch registered or
 * cancelled since) and `checked_at`/`checks` (a forced refresh), so this bounds their staleness.
 */
export const TERMINAL_MAX_AGE_S = 60;
/** A watched Processing answer is kept until its next check, and never longer than this. */
export const WATCHED_MAX_AGE_S = 60;

/** An isolate keeps an answer in memory this long at most, so that a change made elsewhere shows soon. */
export const MEMORY_MAX_AGE_MS = 5_000;
/** How many answers an isolate keeps in memory (the least recently stored go first). */
const MEMORY_ENTRIES = 1_000;

const FRESH_UNTIL = "x-fresh-until";

/**
 * The isolate's own copies, by asset id (the isolate serves one release, and an answer does not
 * depend on the host it was asked under): each until the earlier of its freshness and its memory
 * age. A recall builds no URL or Request: the edge cache's key is made only when memory misses.
 */
const memory = new Map<string, CachedStatus & { memoryUntil: number }>();

function remember(assetId: string, entry: CachedStatus): CachedStatus {
	memory.delete(assetId);
	if (memory.size >= MEMORY_ENTRIES) memory.delete(memory.keys().next().value as string);
	const kept = { ...entry, memoryUntil: Math.min(entry.freshUntil, clock.now() + MEMORY_MAX_AGE_MS) };
	memory.set(assetId, kept);
	return kept;
}

function recalled(assetId: string): CachedStatus | null {
	const kept = memory.get(assetId);
	if (!kept) return null;
	if (kept.memoryUntil > clock.now()) return kept;
	memory.delete(assetId);
	return null;
}

/** A status answer as the edge keeps it: served as is while the service's clock is before `freshUntil`. */
export type CachedStatus = { body: string; etag: string; freshUntil: number };

/** The edge cache key of an asset's status: per asset and per release (the body's shape may change). */
export function statusCacheKey(requestUrl: string, assetId: string): Request {
	const origin = new URL(requestUrl).origin;
	return new Request(`${origin}/_edge/asset-status/${version}/${encodeURIComponent(assetId)}`);
}

export async function etagOf(body: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
	const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `"${hex}"`;
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x". */
export function etagMatches(header: string | undefined, etag: string): boolean {
	if (!header) return false;
	return header.split(",").some((t) => {
		const v = t.trim();
		return v === "*" || v === etag || v === `W/${etag}`;
	});
}

/**
 * Until when an answer may be served from the edge, or null when it may change at any moment.
 * `holdsUntil` is the asset object's word for a non-terminal answer: its next check.
 */
export function cacheableUntil(
	status: string,
	holdsUntil: number | null | undefined,
	now: number,
): number | null {
	if (isTerminal(status)) return now + TERMINAL_MAX_AGE_S * 1000;
	if (holdsUntil === null || holdsUntil === undefined || holdsUntil <= now) return null;
	return Math.min(holdsUntil, now + WATCHED_MAX_AGE_S * 1000);
}

/**
 * The kept answer for `assetId` while it is fresh; null when absent, stale, or when the cache
 * fails. The same entry object comes back from memory until it is replaced, so what is worked out
 * from it once (src/http/secret-egress.ts `bodyHoldsNoSecret`) holds for every hit.
 */
export async function readCachedStatus(requestUrl: string, assetId: string): Promise<CachedStatus | null> {
	const inMemory = recalled(assetId);
	if (inMemory) return inMemory;
	try {
		const hit = await caches.default.match(statusCacheKey(requestUrl, assetId));
		if (!hit) return null;
		const etag = hit.headers.get("etag");
		const freshUntil = Number(hit.headers.get(FRESH_UNTIL));
		if (!etag || !Number.isFinite(freshUntil) || freshUntil <= clock.now()) return null;
		return remember(assetId, { body: await hit.text(), etag, freshUntil });
	} catch {
		// A cache failure costs one Durable Object call, never the lookup.
		return null;
	}
}

/** Keeps `entry` in memory and the edge cache; returns the entry as memory now holds it. */
export async function storeStatus(
	requestUrl: string,
	assetId: string,
	entry: CachedStatus,
): Promise<CachedStatus> {
	const maxAge = Math.ceil((entry.freshUntil - clock.now()) / 1000);
	if (maxAge <= 0) return entry;
	const kept = remember(assetId, entry);
	try {
		await caches.default.put(
			statusCacheKey(requestUrl, assetId),
			new Response(entry.body, {
				headers: {
					"content-type": "application/json",
					etag: entry.etag,
					"cache-control": `public, max-age=${maxAge}`,
					[FRESH_UNTIL]: String(entry.freshUntil),
				},
			}),
		);
	} catch {
		// Not cached: the next lookup asks the Durable Object again.
	}
	return kept;
}

export async function forgetCachedStatus(requestUrl: string, assetId: string): Promise<void> {
	memory.delete(assetId);
	try {
		await caches.default.delete(statusCacheKey(requestUrl, assetId));
	} catch {
		// The entry then lives out its time; a cache failure must not fail the change itself.
	}
}
