// Registering a watch, shared by `POST /v1/watches`, its batch form and upload-and-watch: the checks
// a registration needs beyond its schema (the callback URL policy, header names unique regardless of
// case), a slot from the token's cached live-watch count (src/http/watch-quota.ts, no object call),
// then one call to the asset's Durable Object, which answers an existing watch even at the limit.

import type { Context } from "hono";
import type { RegisterBody } from "../api/requests";
import type { Config } from "../core/config";
import { NotConfiguredError, ValidationError } from "../core/errors";
import { EVENT_TYPES } from "../core/states";
import { checkCallbackUrl } from "../delivery/callback-url";
import { signingFor } from "../delivery/signing";
import type { AppEnv } from "../http/app-env";
import { type QuotaContext, takeWatchSlot } from "../http/watch-quota";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";

/**
 * The checks a registration needs beyond its schema: the callback URL policy and header names
 * unique regardless of case. Returns the normalised URL and headers, or throws a 400. A client
 * (null for a bare token) whose CLIENT_WEBHOOK_SECRETS entry cannot be used gets 503: its secrets
 * sign its callbacks, and a watch whose callbacks cannot be signed is not taken.
 */
export function checkRegistration(
	config: Config,
	body: Pick<RegisterBody, "callback_url" | "callback_headers">,
	client: string | null,
): { callbackUrl: string; callbackHeaders: Record<string, string> } {
	const signing = signingFor(config, client);
	if ("unsigned" in signing && signing.variable === "CLIENT_WEBHOOK_SECRETS")
		throw new NotConfiguredError([signing.variable]);
	const verdict = checkCallbackUrl(body.callback_url, { allowPrivate: config.ALLOW_PRIVATE_CALLBACKS });
	if (!verdict.ok)
		throw new ValidationError(verdict.reason, {
			issues: [{ path: "callback_url", message: verdict.reason }],
		});
	const callbackHeaders = Object.fromEntries(
		Object.entries(body.callback_headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
	);
	if (Object.keys(callbackHeaders).length !== Object.keys(body.callback_headers ?? {}).length)
		throw new ValidationError("callback_headers names must be unique regardless of case");
	return { callbackUrl: verdict.url, callbackHeaders };
}

/** What the token quota needs of the request: its bindings, its URL, and its waitUntil. */
export function quotaContext(c: Context<AppEnv>): QuotaContext {
	return {
		env: c.env,
		requestUrl: c.req.url,
		waitUntil(promise) {
			try {
				c.executionCtx.waitUntil(promise);
			} catch {
				// No execution context (a direct app.request): the promise simply runs on.
			}
		},
	};
}

export async function registerWatch(c: Context<AppEnv>, config: Config, body: RegisterBody) {
	const client = c.get("client");
	const { callbackUrl, callbackHeaders } = checkRegistration(config, body, client);
	const owner = c.get("owner");
	const limit = config.MAX_WATCHES_PER_TOKEN;
	const slot = await takeWatchSlot(quotaContext(c), owner, limit);
	let created = false;
	try {
		const registered = await unwrap(
			assetWatcher(c.env, body.asset_id).register(
				{
					assetId: body.asset_id,
					owner,
					callbackUrl,
					events: body.events ?? [...EVENT_TYPES],
					metadata: body.metadata ?? {},
					callbackHeaders,
					client,
				},
				slot.full ? { live: slot.live } : null,
			),
		);
		created = registered.created;
		return registered;
	} finally {
		slot.settle(created);
	}
}
