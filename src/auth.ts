// Bearer auth on /v1/*: Hono's bearerAuth with a verifier that compares the SHA-256 of the
// presented token against every configured token's hash in constant time (no early exit), and
// records the hash as the caller's identity. Tokens themselves are never stored or logged.

import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "./app-env";
import { loadConfig, requireConfig } from "./config";
import { UnauthorizedError } from "./errors";
import { hashToken } from "./ids";

const unauthorized = (message: string) => (c: { get: (k: "requestId") => string }) =>
	new UnauthorizedError(message).toResponse(c.get("requestId"));

export function requireToken(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const config = loadConfig(c.env);
		requireConfig(config, "API_TOKENS");
		const auth = bearerAuth<AppEnv>({
			verifyToken: async (token, ctx) => {
				const presented = await hashToken(token);
				let match = false;
				for (const t of config.API_TOKENS) {
					// Every configured token is compared, so timing does not tell which one matched.
					if (await timingSafeEqual(await hashToken(t), presented)) match = true;
				}
				if (match) ctx.set("owner", presented);
				return match;
			},
			noAuthenticationHeader: { message: unauthorized("an Authorization: Bearer <token> header is required") },
			invalidAuthenticationHeader: { message: unauthorized("the Authorization header must be: Bearer <token>") },
			invalidToken: { message: unauthorized("the bearer token is not valid") },
		});
		return auth(c, next);
	};
}
