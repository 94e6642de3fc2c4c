// Bearer auth on /v1/*: Hono's bearerAuth with a verifier that compares the SHA-256 of the
// presented token against every configured token's hash in constant time (no early exit), and
// records a hash as the caller's identity. Tokens themselves are never stored or logged.
// An API_TOKENS entry `client:token` names its owner, so several tokens (old and new, during a
// rotation) share one client's watches; a bare `token` is its own owner.

import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { type Config, clientOfTokenEntry, loadConfig, requireConfig } from "../core/config";
import { UnauthorizedError } from "../core/errors";
import { constantTimeEqual, hashToken } from "../core/ids";
import type { AppEnv } from "./app-env";

/** What an API_TOKENS entry accepts, and the key its owner id is hashed from. */
export function credentialOf(entry: string): { token: string; ownerKey: string } {
	const named = clientOfTokenEntry(entry);
	if (!named) return { token: entry, ownerKey: entry };
	return { token: named.token, ownerKey: `client:${named.client}` };
}

/** The client name an owner key carries (a bare token's key has no ":" before its end, so none). */
export const clientOfOwnerKey = (ownerKey: string): string | null =>
	ownerKey.startsWith("client:") ? ownerKey.slice("client:".length) : null;

/** Each configured entry's token digest and owner key, worked out once per token list. */
const digestsByEntries = new WeakMap<readonly string[], Promise<{ digest: string; ownerKey: string }[]>>();

function configuredDigests(entries: readonly string[]): Promise<{ digest: string; ownerKey: string }[]> {
	let digests = digestsByEntries.get(entries);
	if (!digests) {
		digests = Promise.all(
			entries.map(async (entry) => {
				const { token, ownerKey } = credentialOf(entry);
				return { digest: await hashToken(token), ownerKey };
			}),
		);
		digestsByEntries.set(entries, digests);
	}
	return digests;
}

/**
 * The owner key of the entry `presented` matches, or null. Every entry is compared, match or
 * not, each with a constant-time comparison of SHA-256 digests, so the time taken says neither
 * which entry matched nor how much of one did.
 */
export async function matchToken(
	presented: string,
	entries: readonly string[],
	equal: (a: string, b: string) => boolean | Promise<boolean> = constantTimeEqual,
): Promise<string | null> {
	const digest = await hashToken(presented);
	let owner: string | null = null;
	for (const configured of await configuredDigests(entries)) {
		if ((await equal(configured.digest, digest)) && owner === null) owner = configured.ownerKey;
	}
	return owner;
}

/** The owner id of each owner key, hashed once (owner keys come from the configured tokens only). */
const ownerIds = new Map<string, Promise<string>>();

function ownerOf(ownerKey: string): Promise<string> {
	let id = ownerIds.get(ownerKey);
	if (!id) {
		id = hashToken(ownerKey);
		ownerIds.set(ownerKey, id);
	}
	return id;
}

const unauthorized = (message: string) => (c: { get: (k: "requestId") => string }) =>
	new UnauthorizedError(message).toResponse(c.get("requestId"));

/** One bearerAuth middleware per configuration (so per isolate), not one per request. */
const authByConfig = new WeakMap<Config, MiddlewareHandler<AppEnv>>();

function authFor(config: Config): MiddlewareHandler<AppEnv> {
	let auth = authByConfig.get(config);
	if (!auth) {
		auth = bearerAuth<AppEnv>({
			verifyToken: async (token, ctx) => {
				const ownerKey = await matchToken(token, config.API_TOKENS);
				if (ownerKey !== null) {
					ctx.set("owner", await ownerOf(ownerKey));
					// The watch rows record it: their callbacks are signed with this client's secrets.
					ctx.set("client", clientOfOwnerKey(ownerKey));
				}
				return ownerKey !== null;
			},
			noAuthenticationHeader: {
				message: unauthorized("an Authorization: Bearer <token> header is required"),
			},
			invalidAuthenticationHeader: {
				message: unauthorized("the Authorization header must be: Bearer <token>"),
			},
			invalidToken: { message: unauthorized("the bearer token is not valid") },
		});
		authByConfig.set(config, auth);
	}
	return auth;
}

export function requireToken(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const config = loadConfig(c.env);
		requireConfig(config, "API_TOKENS");
		return authFor(config)(c, next);
	};
}
