// The per-token request rate limit on /v1/*, run after auth so the caller is known. The Workers Rate
// Limiting binding (RATE_LIMITER, keyed by the token's owner hash) counts in the Cloudflare location
// that serves the request, with no object call. It counts blocks of REQUESTS_PER_CALL requests: one
// limit() call that succeeds lets this isolate serve a block, so the binding is asked once per block,
// and a location can serve at most the binding's limit × REQUESTS_PER_CALL a minute (a block bought
// and left unused only ever lowers that). Beyond it the answer is 429 with Retry-After until the
// minute ends. RATE_LIMIT_PER_MINUTE=0 turns the check off; otherwise it names that product.

import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../core/config";
import { RateLimitedError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import type { AppEnv } from "./app-env";

/** The binding's period (wrangler.toml `simple.period`): a window of one minute. */
export const RATE_PERIOD_S = 60;
/** Requests one successful limit() call admits: the binding's `simple.limit` counts blocks of these. */
export const REQUESTS_PER_CALL = 10;

/** The binding's windows follow the real clock, never the service's (tests move that one). */
const windowOf = (nowMs: number) => Math.floor(nowMs / (RATE_PERIOD_S * 1000));

/**
 * Seconds until the binding's current window ends. The local implementation counts in windows
 * aligned to the wall clock; Cloudflare's counting is approximate, so this is an estimate there,
 * and a client that retries on it may meet another 429 with a new Retry-After.
 */
export function secondsToWindowEnd(nowMs = Date.now()): number {
	return RATE_PERIOD_S - (Math.floor(nowMs / 1000) % RATE_PERIOD_S);
}

/** What this isolate may still serve for one owner in the current window. */
type Allowance = { window: number; left: number; refused: boolean };

/** Per isolate, by owner hash (auth runs first, so only configured owners get an entry). */
const allowances = new Map<string, Allowance>();

/**
 * Asks the binding for one block. A binding that is missing, throws or answers oddly is a guard
 * that could not run: the block is served and a warning logged, never a 5xx.
 */
async function buyBlock(limiter: RateLimit | undefined, key: string, requestId: string): Promise<boolean> {
	try {
		if (!limiter) throw new Error("the RATE_LIMITER binding is missing");
		const outcome = await limiter.limit({ key });
		return outcome?.success !== false;
	} catch (err) {
		logEvent("warn", "rate limiter unavailable", { request_id: requestId, error: errorText(err) });
		return true;
	}
}

/** True when one more request of `key` may be served in this window. */
async function admit(limiter: RateLimit | undefined, key: string, requestId: string): Promise<boolean> {
	const window = windowOf(Date.now());
	let a = allowances.get(key);
	if (!a || a.window !== window) {
		// A new window: what was left of the last one is gone, and so are other owners' old entries.
		for (const [k, old] of allowances) if (old.window !== window) allowances.delete(k);
		a = { window, left: 0, refused: false };
		allowances.set(key, a);
	}
	// A request that finds no block left buys one itself: a call in flight is never shared with
	// another request (the runtime forbids awaiting another request's I/O), so requests arriving
	// together may buy a block each, which only counts them sooner against the limit.
	if (!a.refused && a.left === 0) {
		if (await buyBlock(limiter, key, requestId)) a.left += REQUESTS_PER_CALL;
		else a.refused = true;
	}
	if (a.refused) return false;
	a.left--;
	return true;
}

export function limitRequestRate(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const perMinute = loadConfig(c.env).RATE_LIMIT_PER_MINUTE;
		if (perMinute > 0 && !(await admit(c.env.RATE_LIMITER, c.get("owner"), c.get("requestId"))))
			throw new RateLimitedError(
				`this token is limited to ${perMinute} requests per minute`,
				secondsToWindowEnd(),
			);
		await next();
	};
}
