// Registering a watch, shared by `POST /v1/watches`, its batch form and upload-and-watch: the checks
// a registration needs beyond its schema (the callback URL policy, header names unique regardless of
// case), then one call to the asset's Durable Object.

import type { RegisterBody } from "../api/requests";
import type { Config } from "../core/config";
import { ValidationError } from "../core/errors";
import { EVENT_TYPES } from "../core/states";
import { checkCallbackUrl } from "../delivery/callback-url";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";

/**
 * The checks a registration needs beyond its schema: the callback URL policy and header names
 * unique regardless of case. Returns the normalised URL and headers, or throws a 400.
 */
export function checkRegistration(
	config: Config,
	body: Pick<RegisterBody, "callback_url" | "callback_headers">,
): { callbackUrl: string; callbackHeaders: Record<string, string> } {
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

export async function registerWatch(env: Env, config: Config, owner: string, body: RegisterBody) {
	const { callbackUrl, callbackHeaders } = checkRegistration(config, body);
	return unwrap(
		assetWatcher(env, body.asset_id).register({
			assetId: body.asset_id,
			owner,
			callbackUrl,
			events: body.events ?? [...EVENT_TYPES],
			metadata: body.metadata ?? {},
			callbackHeaders,
		}),
	);
}
