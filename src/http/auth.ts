// Bearer auth on /v1/*: Hono's bearerAuth with a verifier that compares the SHA-256 of the
// presented token against every configured token's hash in constant time (no early exit), and
// records a hash as the caller's identity. Tokens themselves are never stored or logged; an
// isolate keeps in memory, for each configuration, the few Authorization headers it accepted, so a
// caller presenting the same header again is not hashed again.
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

/** Who an accepted header authenticates as. */
type Caller = { owner: string; client: string | null };

/** How many accepted Authorization headers an isolate keeps per configuration (oldest go first). */
export const ACCEPTED_HEADERS_KEPT = 64;

/**
 * Per configuration (so a token removed from API_TOKENS, which makes a new one, is refused at
 * once): the exact Authorization header values that passed the full check. Only accepted headers
 * are kept, so an unknown or near-miss token always takes the constant-time comparison; a lookup
 * by the whole value tells only whether it is byte for byte one that was accepted.
 */
const acceptedByConfig = new WeakMap<Config, Map<string, Caller>>();

function acceptedFor(config: Config): Map<string, Caller> {
	let accepted = acceptedByConfig.get(config);
	if (!accepted) {
		accepted = new Map();
		acceptedByConfig.set(config, accepted);
	}
	return accepted;
}

function rememberAccepted(config: Config, header: string | undefined, caller: Caller): void {
	if (header === undefined) return;
	const accepted = acceptedFor(config);
	if (accepted.size >= ACCEPTED_HEADERS_KEPT) accepted.delete(accepted.keys().next().value as string);
	accepted.set(header, caller);
}

/** How many accepted headers this isolate keeps for `env`'s configuration (for tests). */
export function acceptedHeaderCount(env: Env): number {
	return acceptedByConfig.get(loadConfig(env))?.size ?? 0;
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
					const caller = { owner: await ownerOf(ownerKey), client: clientOfOwnerKey(ownerKey) };
					ctx.set("owner", caller.owner);
					// The watch rows record it: their callbacks are signed with this client's secrets.
					ctx.set("client", caller.client);
					rememberAccepted(config, ctx.req.header("authorization"), caller);
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
		const header = c.req.header("authorization");
		const known = header === undefined ? undefined : acceptedByConfig.get(config)?.get(header);
		if (known) {
			c.set("owner", known.owner);
			c.set("client", known.client);
			return next();
		}
		return authFor(config)(c, next);
	};
}
