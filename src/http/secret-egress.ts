// The last limit on what leaves: no configured secret value (CRUN_API_KEY, any API token, any
// WEBHOOK_SECRET or CLIENT_WEBHOOK_SECRETS value or its key, DASHBOARD_SESSION_SECRET) goes out in
// a response body or header, whatever put it there — an upstream error message that echoes the key back, an operator's
// secret pasted into a field. Each source still takes its own care; this makes SPEC §6 hold at
// the one door every response uses. An answer built from text already found clean (a kept status
// answer, a registration) is marked so, and only its headers are read again here.

import type { Context, MiddlewareHandler } from "hono";
import { type Config, loadConfig } from "../core/config";
import { logEvent } from "../core/log";
import type { AppEnv } from "./app-env";
import { credentialOf } from "./auth";

export const REDACTED = "[redacted]";
/** Shorter values would match ordinary text; a secret this short is a problem of its own. */
const MIN_SECRET_LENGTH = 8;

const cache = new WeakMap<Config, string[]>();

/** The configured secret values, longest first so that a secret containing another goes whole. */
export function secretValues(config: Config): string[] {
	const cached = cache.get(config);
	if (cached) return cached;
	const values = new Set<string>();
	if (config.CRUN_API_KEY) values.add(config.CRUN_API_KEY);
	if (config.DASHBOARD_SESSION_SECRET) values.add(config.DASHBOARD_SESSION_SECRET);
	for (const entry of config.API_TOKENS) values.add(credentialOf(entry).token);
	// Every value of CLIENT_WEBHOOK_SECRETS, a malformed one too: it was meant as a secret.
	for (const secret of [...config.WEBHOOK_SECRETS, ...config.CLIENT_WEBHOOK_SECRETS.values]) {
		values.add(secret);
		values.add(secret.replace(/^whsec_/, ""));
	}
	const list = [...values].filter((v) => v.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
	cache.set(config, list);
	return list;
}

/** `text` with every secret replaced, or null when it holds none. */
export function redact(text: string, secrets: readonly string[]): string | null {
	let out = text;
	for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
	return out === text ? null : out;
}

/** Responses whose body was checked where it was built (`markBodyChecked`): only their headers are read here. */
const checkedBodies = new WeakSet<Response>();

/** For each body holder, the secret list its text was last found clean against. */
const cleanAgainst = new WeakMap<object, readonly string[]>();

/**
 * Whether `holder.body` holds none of `secrets`, worked out once per holder and secret list: an
 * answer kept in memory and served many times is read once, not at every request.
 */
export function bodyHoldsNoSecret(holder: { readonly body: string }, secrets: readonly string[]): boolean {
	if (cleanAgainst.get(holder) === secrets) return true;
	if (redact(holder.body, secrets) !== null) return false;
	cleanAgainst.set(holder, secrets);
	return true;
}

/**
 * Tells `withholdSecrets` that `res`'s body was built from text `bodyHoldsNoSecret` found clean,
 * so it need not be cloned and read again; its headers are still checked. A body that does hold
 * a secret is never marked, and takes the full check (redacted and logged) like any other.
 */
export function markBodyChecked(res: Response): Response {
	checkedBodies.add(res);
	return res;
}

/**
 * `res`, the answer `c.json(value)` made, marked checked when `value`'s JSON holds no secret: a
 * serialisation here costs far less than the clone and read of the body the door would make.
 */
export function checkedJson<R extends Response>(c: Context<AppEnv>, res: R, value: unknown): R {
	const body = JSON.stringify(value);
	if (bodyHoldsNoSecret({ body }, secretValues(loadConfig(c.env)))) markBodyChecked(res);
	return res;
}

export function withholdSecrets(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		await next();
		const secrets = secretValues(loadConfig(c.env));
		if (secrets.length === 0) return;
		const res = c.res;
		// Copied only when something must change: most answers hold nothing to withhold.
		let headers: Headers | null = null;
		for (const [name, value] of res.headers) {
			const clean = redact(value, secrets);
			if (clean !== null) {
				headers ??= new Headers(res.headers);
				headers.set(name, clean);
			}
		}
		let body: BodyInit | null = res.body;
		if (
			res.body &&
			!checkedBodies.has(res) &&
			/json|text|html|xml|javascript/i.test(res.headers.get("content-type") ?? "")
		) {
			const clean = redact(await res.clone().text(), secrets);
			if (clean !== null) {
				body = clean;
				headers ??= new Headers(res.headers);
				headers.delete("content-length");
			}
		}
		if (headers === null) return;
		// The request id only: the path itself may hold what was withheld.
		logEvent("warn", "secret withheld from a response", { request_id: c.get("requestId") });
		// Assigning over an existing response would merge its headers back in; clear it first.
		c.res = undefined;
		c.res = new Response(body, { status: res.status, statusText: res.statusText, headers });
	};
}
