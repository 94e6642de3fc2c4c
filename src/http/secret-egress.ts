// The last limit on what leaves: no configured secret value (CRUN_API_KEY, any API token, any
// WEBHOOK_SECRET or CLIENT_WEBHOOK_SECRETS value or its key, DASHBOARD_SESSION_SECRET) goes out in
// a response body or header, whatever put it there — an upstream error message that echoes the key back, an operator's
// secret pasted into a field. Each source still takes its own care; this makes SPEC §6 hold at
// the one door every response uses.

import type { MiddlewareHandler } from "hono";
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

export function withholdSecrets(): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		await next();
		const secrets = secretValues(loadConfig(c.env));
		if (secrets.length === 0) return;
		const res = c.res;
		const headers = new Headers(res.headers);
		let changed = false;
		for (const [name, value] of res.headers) {
			const clean = redact(value, secrets);
			if (clean !== null) {
				headers.set(name, clean);
				changed = true;
			}
		}
		let body: BodyInit | null = res.body;
		if (res.body && /json|text|html|xml|javascript/i.test(res.headers.get("content-type") ?? "")) {
			const clean = redact(await res.clone().text(), secrets);
			if (clean !== null) {
				body = clean;
				headers.delete("content-length");
				changed = true;
			}
		}
		if (!changed) return;
		// The request id only: the path itself may hold what was withheld.
		logEvent("warn", "secret withheld from a response", { request_id: c.get("requestId") });
		// Assigning over an existing response would merge its headers back in; clear it first.
		c.res = undefined;
		c.res = new Response(body, { status: res.status, statusText: res.statusText, headers });
	};
}
