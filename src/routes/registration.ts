// Registering a watch, shared by `POST /v1/watches`, its batch form and upload-and-watch: the checks
// a registration needs beyond its schema (the callback URL policy, header names unique regardless of
// case), then one call to the asset's Durable Object.

import type { RegisterBody } from "../api/requests";
import type { Config } from "../core/config";
import { NotConfiguredError, ValidationError } from "../core/errors";
import { EVENT_TYPES } from "../core/states";
import { checkCallbackUrl } from "../delivery/callback-url";
import { signingFor } from "../delivery/signing";
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

/** Registers for `owner`; `client` (the token's client, null for a bare token) is recorded on the watch. */
export async function registerWatch(
	env: Env,
	config: Config,
	owner: string,
	body: RegisterBody,
	client: string | null,
) {
	const { callbackUrl, callbackHeaders } = checkRegistration(config, body, client);
	return unwrap(
		assetWatcher(env, body.asset_id).register({
			assetId: body.asset_id,
			owner,
			callbackUrl,
			events: body.events ?? [...EVENT_TYPES],
			metadata: body.metadata ?? {},
			callbackHeaders,
			client,
		}),
	);
}
