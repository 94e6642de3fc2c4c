// The per-token request rate limit on /v1/*, run after auth so the caller is known: each request
// asks the Workers Rate Limiting binding (RATE_LIMITER, keyed by the token's owner hash), which
// counts in the Cloudflare location that serves the request, with no object call. Beyond its limit
// the answer is 429 with Retry-After. RATE_LIMIT_PER_MINUTE=0 turns the check off; otherwise it
// must name the binding's own limit (wrangler.toml), since the binding's limit is fixed there.

import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../core/config";
import { RateLimitedError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import type { AppEnv } from "./app-env";

/** The binding's period (wrangler.toml `simple.period`): a window of one minute. */
export const RATE_PERIOD_S = 60;

/**
 * Seconds until the binding's current window ends. The local implementation counts in windows
 * aligned to the wall clock; Cloudflare's counting is approximate, so this is an estimate there,
 * and a client that retries on it may meet another 429 with a new Retry-After.
 * The binding's windows follow the real clock, never the service's (tests move that one).
 */
export function secondsToWindowEnd(nowMs = Date.now()): number {
	return RATE_PERIOD_S - (Math.floor(nowMs / 1000) % RATE_PERIOD_S);
}

/**
 * True when the request may go on. A binding that is missing, throws or answers oddly is a guard
 * that could not run: the request is served and a warning logged, never a 5xx.
 */
async function allowed(limiter: RateLimit | undefined, key: string, requestId: string): Promise<boolean> {
	try {
		if (!limiter) throw new Error("the RATE_LIMITER binding is missing");
		const outcome = await limiter.limit({ key });
		return outcome?.success !== false;
	} catch (err) {
		logEvent("warn", "rate limiter unavailable", { request_id: requestId, error: errorText(err) });
		return true;
	}
}

export function limitRequestRate(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const perMinute = loadConfig(c.env).RATE_LIMIT_PER_MINUTE;
		if (perMinute > 0 && !(await allowed(c.env.RATE_LIMITER, c.get("owner"), c.get("requestId"))))
			throw new RateLimitedError(
				`this token is limited to ${perMinute} requests per minute`,
				secondsToWindowEnd(),
			);
		await next();
	};
}
