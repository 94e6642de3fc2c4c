// MAX_WATCHES_PER_TOKEN off the request path: a registration is checked against a cached count of
// the token's live watches (watching or notifying), not against an object. The count comes from the
// index shards, which hold every watch with its owner and state (pushed by the asset objects, healed
// by the sweep); it is refreshed in the background once older than COUNT_MAX_AGE_MS, shared within a
// Cloudflare location through the Workers cache, and raised at once by the registrations this isolate
// makes. Far below a large limit a refresh asks one shard and scales its count (one call instead of
// one per shard); near the limit, and before any refusal, it asks every shard. How far over the
// limit a burst can get, and why that is enough: README § Limits.

import { version } from "../../package.json";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { errorText, logEvent } from "../core/log";
import { liveWatchCount, sampledLiveWatchCount } from "../watch-index/reads";

/** A count older than this is refreshed from the index (in the background unless it refuses). */
export const COUNT_MAX_AGE_MS = 10_000;
/** How long the Workers cache keeps a count for other isolates of the location. */
const CACHE_TTL_S = 60;
/** Below this share of the limit a refresh may ask one shard; at or above it, every shard. */
export const SAMPLE_BELOW_SHARE = 0.5;
/**
 * One shard's count says something only when the limit is large beside the number of shards:
 * sampling needs a limit of at least this many watches per shard (the default 100,000 over 16
 * shards is 6,250 per shard), so small limits are always counted exactly.
 */
export const SAMPLE_MIN_PER_SHARD = 64;

/** What the quota needs of the request it serves. */
export interface QuotaContext {
	env: Env;
	requestUrl: string;
	/** keeps a background refresh alive after the answer is sent */
	waitUntil(promise: Promise<unknown>): void;
}

/** A watch this isolate added (or is adding): its order here, and when. */
type Added = { seq: number; at: number };

type Counted = {
	/** live watches the index counted at `at` (0 and -Infinity before the first count) */
	base: number;
	at: number;
	/** `base` is a count of every shard (false: one shard's, scaled) */
	exact: boolean;
	/** the shard the next sampled refresh asks (they take turns, so a token's watches piled on a few assets are seen) */
	nextShard: number;
	/** the watches this isolate added since the count was taken (reservations in flight included) */
	added: Added[];
	seq: number;
	/** when this isolate last looked for the location's count, and last started a refresh */
	sharedReadAt: number;
	refreshStartedAt: number;
};

/**
 * Per isolate, by owner hash: one entry per configured token owner, so it stays small. It holds
 * plain numbers only: a request may never await I/O that another request started, so each one
 * that needs the cache or the index asks itself.
 */
const counts = new Map<string, Counted>();

/** Forgets what this isolate counted, as a fresh isolate would start (tests use it to play one). */
export function forgetLocalCounts(): void {
	counts.clear();
}

const liveOf = (e: Counted) => e.base + e.added.length;

function cacheKey(requestUrl: string, owner: string): Request {
	return new Request(`${new URL(requestUrl).origin}/_edge/token-live/${version}/${owner}`);
}

function entryOf(owner: string): Counted {
	let e = counts.get(owner);
	if (!e) {
		const never = Number.NEGATIVE_INFINITY;
		e = {
			base: 0,
			at: never,
			exact: true,
			nextShard: Math.floor(clock.random() * 1024),
			added: [],
			seq: 0,
			sharedReadAt: never,
			refreshStartedAt: never,
		};
		counts.set(owner, e);
	}
	return e;
}

/** Takes the location's count when another isolate stored a newer one than this isolate's. */
async function readShared(ctx: QuotaContext, owner: string, e: Counted): Promise<void> {
	e.sharedReadAt = clock.now();
	try {
		const hit = await caches.default.match(cacheKey(ctx.requestUrl, owner));
		if (!hit) return;
		const { base, at, exact } = (await hit.json()) as { base?: unknown; at?: unknown; exact?: unknown };
		if (typeof base !== "number" || typeof at !== "number" || at <= e.at) return;
		e.base = base;
		e.at = at;
		e.exact = exact !== false;
		// Watches this isolate added in that same millisecond may be in it or not: taken as in it.
		e.added = e.added.filter((a) => a.at > at);
	} catch {
		// A cache that fails costs a refresh from the index, never the registration.
	}
}

/** Whether a refresh of `e` may ask one shard: a large limit, and the count well below it. */
function maySample(env: Env, e: Counted, limit: number): boolean {
	const shards = loadConfig(env).INDEX_SHARDS;
	return shards > 1 && limit >= SAMPLE_MIN_PER_SHARD * shards && liveOf(e) < limit * SAMPLE_BELOW_SHARE;
}

/**
 * Counts the token's live watches: from one shard when `maySample` (and the estimate stays below
 * SAMPLE_BELOW_SHARE of the limit), else from every shard. `exact` asks every shard regardless.
 */
async function countLive(ctx: QuotaContext, owner: string, e: Counted, limit: number, exact: boolean) {
	if (!exact && maySample(ctx.env, e, limit)) {
		const estimate = await sampledLiveWatchCount(ctx.env, owner, e.nextShard++);
		if (estimate < limit * SAMPLE_BELOW_SHARE) return { base: estimate, exact: false };
	}
	return { base: await liveWatchCount(ctx.env, owner), exact: true };
}

async function refresh(
	ctx: QuotaContext,
	owner: string,
	e: Counted,
	limit: number,
	exact = false,
): Promise<void> {
	const started = clock.now();
	const startSeq = e.seq;
	e.refreshStartedAt = started;
	try {
		const counted = await countLive(ctx, owner, e, limit, exact);
		// A slower refresh that started earlier must not undo a newer one.
		if (started < e.at) return;
		const base = counted.base;
		e.base = base;
		e.at = started;
		e.exact = counted.exact;
		// The shards were asked before any watch added from here on could reach them, so those are
		// added to the count; one added before may not have reached its shard yet and is missed
		// until the next refresh (part of the burst the README allows for).
		e.added = e.added.filter((a) => a.seq > startSeq);
		await caches.default
			.put(
				cacheKey(ctx.requestUrl, owner),
				new Response(JSON.stringify({ base, at: started, exact: counted.exact }), {
					headers: { "content-type": "application/json", "cache-control": `max-age=${CACHE_TTL_S}` },
				}),
			)
			.catch(() => {});
	} catch (err) {
		// The old count stays and the next registration tries again.
		logEvent("warn", "token watch count not refreshed", { error: errorText(err) });
	}
}

const stale = (t: number) => clock.now() - t > COUNT_MAX_AGE_MS;

/**
 * Brings the token's count up to date as far as can be done without waiting on the index: the
 * location's count from the Workers cache (at most once per COUNT_MAX_AGE_MS per isolate). A
 * batch calls it before its items, so that they take their slots in order.
 */
export async function prepareWatchQuota(ctx: QuotaContext, owner: string): Promise<void> {
	const e = entryOf(owner);
	if (stale(e.at) && stale(e.sharedReadAt)) await readShared(ctx, owner, e);
}

export interface WatchSlot {
	/** the token's live watches before this one, as counted */
	live: number;
	/** the limit is reached: only an existing watch may be answered */
	full: boolean;
	/** keeps the slot when a watch was created, gives it back otherwise */
	settle(created: boolean): void;
}

/**
 * Takes a provisional slot for one new watch of `owner`. Never calls an object while the token is
 * under its limit (a stale count is refreshed in the background, once per COUNT_MAX_AGE_MS); a
 * refusal is made from an exact count no older than that, taken first when it was older or
 * sampled, so a token is never refused on a count that a finished watch made stale, nor on an
 * estimate.
 */
export async function takeWatchSlot(ctx: QuotaContext, owner: string, limit: number): Promise<WatchSlot> {
	await prepareWatchQuota(ctx, owner);
	const e = entryOf(owner);
	// A refusal is only ever made from a count of every shard, taken within COUNT_MAX_AGE_MS.
	if (liveOf(e) >= limit && (stale(e.at) || !e.exact)) await refresh(ctx, owner, e, limit, true);
	else if (stale(e.at) && stale(e.refreshStartedAt)) ctx.waitUntil(refresh(ctx, owner, e, limit));
	const live = liveOf(e);
	const added: Added = { seq: ++e.seq, at: clock.now() };
	e.added.push(added);
	return {
		live,
		full: live >= limit,
		settle(created) {
			if (!created) e.added = e.added.filter((a) => a !== added);
		},
	};
}
