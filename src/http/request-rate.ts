// The per-token request rate limit on /v1/*, run after auth so the caller is known: each request
// is counted by the token's TokenQuota object and refused with 429 and Retry-After beyond
// RATE_LIMIT_PER_MINUTE (0 turns it off). Unauthenticated requests never reach it and cost nothing.

import type { MiddlewareHandler } from "hono";
import { loadConfig } from "../core/config";
import { RateLimitedError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import { tokenQuota } from "../limits/token-quota";
import type { AppEnv } from "./app-env";

export function limitRequestRate(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const limit = loadConfig(c.env).RATE_LIMIT_PER_MINUTE;
		if (limit > 0) {
			let verdict: Awaited<ReturnType<ReturnType<typeof tokenQuota>["hit"]>> | null = null;
			try {
				verdict = await tokenQuota(c.env, c.get("owner")).hit(limit);
			} catch (err) {
				// Metering is a guard, not a dependency: if the counter cannot answer, serve the request.
				logEvent("warn", "rate limiter unavailable", {
					request_id: c.get("requestId"),
					error: errorText(err),
				});
			}
			if (verdict && !verdict.ok)
				throw new RateLimitedError(
					`this token is limited to ${limit} requests per minute`,
					verdict.retryAfterS,
				);
		}
		await next();
	};
}
