// /v1/assets: status lookups and upload-and-watch. Terminal answers and watched Processing ones
// are kept in the Workers cache (src/http/status-cache.ts), so repeated lookups of them reach no
// Durable Object until the answer could change; the rest go to the asset's object, which answers
// watched assets from storage and coalesces unwatched ones.
// Upload validates everything first, so a refused request never creates an asset upstream.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyErrors, commonErrors, errorResponse } from "../api/errors";
import { AssetId, UploadBody } from "../api/requests";
import { AssetStatusSchema, UploadResultSchema } from "../api/resources";
import { clock } from "../core/clock";
import { loadConfig, requireConfig } from "../core/config";
import { HttpError, NotFoundError } from "../core/errors";
import { ASSET_ID_PATTERN } from "../core/ids";
import { errorText, logEvent } from "../core/log";
import { isTerminal } from "../core/states";
import { type CrunSettings, crunSettings, uploadAsset } from "../crun/client";
import { uploadError } from "../crun/upload-answer";
import type { AppEnv } from "../http/app-env";
import { MAX_WAIT_S, waitPreference } from "../http/prefer";
import { bodyHoldsNoSecret, markBodyChecked, secretValues } from "../http/secret-egress";
import {
	type CachedStatus,
	cacheableUntil,
	etagMatches,
	etagOf,
	forgetCachedStatus,
	readCachedStatus,
	storeStatus,
	TERMINAL_MAX_AGE_S,
	WATCHED_MAX_AGE_S,
} from "../http/status-cache";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";
import type { AssetView } from "../watcher/views";
import { checkRegistration, registerWatch } from "./registration";

export const assets = new OpenAPIHono<AppEnv>();

/**
 * An answer as the edge keeps it: ETag, the remaining lifetime as the client's max-age, 304 on a
 * match. To a request that waits, `no-cache`: its next wait must reach the service, not a cache.
 * Its body is checked for secrets once per kept entry, not once per answer.
 */
function cachedAnswer(c: Context<AppEnv>, entry: CachedStatus, waiting: boolean) {
	const maxAge = Math.max(0, Math.floor((entry.freshUntil - clock.now()) / 1000));
	const headers = {
		etag: entry.etag,
		"cache-control": waiting ? "no-cache" : `private, max-age=${maxAge}`,
		vary: "prefer",
	};
	if (etagMatches(c.req.header("if-none-match"), entry.etag)) return c.body(null, 304, headers);
	const res = c.body(entry.body, 200, { ...headers, "content-type": "application/json" });
	return bodyHoldsNoSecret(entry, secretValues(loadConfig(c.env))) ? markBodyChecked(res) : res;
}

/** A kept answer that can serve a lookup waiting for a terminal status: a terminal one. */
function settled(entry: CachedStatus): { watched: boolean } | null {
	const view = JSON.parse(entry.body) as AssetView;
	return isTerminal(view.status) ? { watched: view.watched } : null;
}

assets.openapi(
	createRoute({
		method: "get",
		operationId: "getAssetStatus",
		path: "/{asset_id}",
		summary: "Look up an asset's status",
		description: [
			"A watched asset is answered from the service's state with no upstream call; an unwatched one costs at most one upstream call per asset per 5 s however many lookups arrive (they are coalesced), and leaves no state behind.",
			"",
			`Answers that cannot change for a while carry a strong \`ETag\` and \`Cache-Control: private, max-age=<s>\`, answer \`304\` to a matching \`If-None-Match\`, and are served from the edge cache without reaching the asset's state: a terminal one (\`Active\`, \`Failed\`) for up to ${TERMINAL_MAX_AGE_S} s, a watched \`Processing\` one until the asset's next check (\`next_check_at\`, at most ${WATCHED_MAX_AGE_S} s). The status in such an answer is current where it was served; \`watched\`, \`checked_at\` and \`checks\` may be that old when a watch was registered or cancelled, or a refresh forced, in another data centre.`,
			"",
			"`refresh=true` skips the cache and forces an upstream check, at most once per asset per 5 s (429 with `Retry-After` beyond).",
			"",
			`\`Prefer: wait=N\` (RFC 7240, N ≤ ${MAX_WAIT_S}; a larger N is shortened to ${MAX_WAIT_S}): for a client that cannot receive webhooks. A watched asset's answer is held until its status is \`Active\`/\`Failed\` (or its watches expire or are cancelled) or N seconds pass, and says \`Preference-Applied: wait=N\`; it checks no more often than the asset's own schedule, however many lookups wait. An unwatched asset answers at once, without \`Preference-Applied\`. With \`If-None-Match\` (the ETag of the last answer), a wait that ends with nothing new answers \`304\`. Answers to a wait say \`Cache-Control: no-cache\`.`,
		].join("\n"),
		request: {
			params: z.object({ asset_id: AssetId.openapi({ param: { name: "asset_id", in: "path" } }) }),
			query: z.strictObject({
				refresh: z
					.enum(["true", "false"])
					.optional()
					.openapi({ description: "Force an upstream check (rate-limited per asset)", example: "true" }),
			}),
			headers: z.object({
				"if-none-match": z.string().optional().openapi({
					description: "An ETag from an earlier answer",
					example: '"3f1c9a0e5b7d2c4e8a6f1b3d5c7e9a0b"',
				}),
				prefer: z
					.string()
					.optional()
					.openapi({
						description: `\`wait=N\` (RFC 7240, seconds, at most ${MAX_WAIT_S}): hold the answer until the asset is \`Active\`/\`Failed\` or N seconds pass. Honoured for a watched asset only; anything else in the header is ignored.`,
						example: "wait=30",
					}),
			}),
		},
		responses: {
			200: {
				description: "The asset's status",
				headers: {
					etag: {
						description: "Strong validator of the body (terminal and watched Processing answers)",
						schema: { type: "string" },
					},
					"cache-control": {
						description: `\`private, max-age=<s ≤ ${TERMINAL_MAX_AGE_S}>\` on answers the edge keeps (terminal, or watched and between checks), \`no-cache\` on those to a wait, \`no-store\` otherwise`,
						schema: { type: "string" },
					},
					"preference-applied": {
						description: "`wait=N` when the lookup honoured `Prefer: wait=N` (a watched asset)",
						schema: { type: "string" },
					},
				},
				content: { "application/json": { schema: AssetStatusSchema } },
			},
			304: { description: "Not modified: the answer matches If-None-Match" },
			404: errorResponse("An unwatched asset the upstream does not know (`asset_not_found`)", {
				code: "asset_not_found",
				message: "the upstream does not know this asset",
			}),
			429: errorResponse("Refreshed too recently (`Retry-After` says when to try again)", {
				code: "rate_limited",
				message: "this asset was refreshed moments ago",
			}),
			502: errorResponse("The upstream could not be checked", {
				code: "upstream_error",
				message: "the upstream could not be checked (upstream timed out after 10000 ms)",
			}),
			...commonErrors,
			503: errorResponse(
				"A required secret is not configured (`not_configured`), or a check was needed and the deployment's upstream budget had no turn for it within 5 s (`upstream_busy`, with `Retry-After`)",
				{
					code: "upstream_busy",
					message: "the service's upstream budget is spent just now; try again shortly",
				},
			),
		},
	}),
	async (c) => {
		requireConfig(loadConfig(c.env), "CRUN_API_KEY");
		const { asset_id } = c.req.valid("param");
		const refresh = c.req.valid("query").refresh === "true";
		const waitS = waitPreference(c.req.header("prefer"));
		if (!refresh) {
			// A hit reaches no Durable Object at all. A kept Processing answer cannot end a wait.
			const cached = await readCachedStatus(c.req.url, asset_id);
			const done = cached && waitS !== null ? settled(cached) : null;
			if (cached && waitS === null) return cachedAnswer(c, cached, false);
			if (cached && done) {
				if (done.watched) c.header("preference-applied", `wait=${waitS}`);
				return cachedAnswer(c, cached, true);
			}
		}
		const answer = await unwrap(assetWatcher(c.env, asset_id).lookup(asset_id, refresh, (waitS ?? 0) * 1000));
		if (!answer.found) throw new NotFoundError("asset_not_found", "the upstream does not know this asset");
		if (waitS !== null && answer.waitApplied) c.header("preference-applied", `wait=${waitS}`);
		const body = JSON.stringify(answer.view);
		const freshUntil = cacheableUntil(answer.view.status, answer.holdsUntil, clock.now());
		if (freshUntil === null) {
			// A forced refresh replaces what the edge held; an answer that may change is not kept.
			if (refresh) await forgetCachedStatus(c.req.url, asset_id);
			c.header("cache-control", "no-store");
			return c.body(body, 200, { "content-type": "application/json" });
		}
		// Awaited rather than left to waitUntil: the next lookup from this data centre should hit.
		const entry = await storeStatus(c.req.url, asset_id, { body, etag: await etagOf(body), freshUntil });
		return cachedAnswer(c, entry, waitS !== null);
	},
);

assets.openapi(
	createRoute({
		method: "post",
		operationId: "uploadAsset",
		path: "/upload",
		summary: "Upload an asset through Crun, and watch it",
		description: [
			"Forwards `{ name, asset_type, asset_url }` to Crun's asset-upload endpoint. With a `callback_url`, the new asset is watched in the same call (the watch fields are those of `POST /v1/watches`) and `watch` is the new watch; without one, `watch` is null.",
			"",
			"Everything is validated before the upload, so a request this service refuses never creates an asset upstream. The upload itself is not idempotent: after a `502` caused by a timeout the asset may still have been created.",
			"",
			"Upstream errors keep the upstream's message: 422 → `400 upstream_rejected`; 401/402 → `502 upstream_unauthorized`/`upstream_payment_required` (an operator problem); 429 → `429 upstream_rate_limited` with `Retry-After`; 455 → `503 upstream_maintenance`; 5xx, timeouts and unreadable answers → `502 upstream_error`.",
		].join("\n"),
		request: { body: { required: true, content: { "application/json": { schema: UploadBody } } } },
		responses: {
			201: {
				description: "Uploaded (and watched when `callback_url` was given)",
				content: { "application/json": { schema: UploadResultSchema } },
			},
			429: errorResponse(
				"The upstream is rate limiting uploads (`upstream_rate_limited`, with `Retry-After`)",
				{
					code: "upstream_rate_limited",
					message: "the upstream is rate limiting uploads (upstream 429: Rate Limited)",
				},
			),
			502: errorResponse("The upstream failed or refused the service's credentials", {
				code: "upstream_error",
				message: "the upstream could not take the upload (upstream 500: Server Error)",
			}),
			...commonErrors,
			400: errorResponse(
				"Invalid request, or the upstream refused the upload (`upstream_rejected`, with its message)",
				{
					code: "upstream_rejected",
					message: "the upstream refused the upload: asset_url must be an http(s) URL",
				},
			),
			503: errorResponse(
				"A required secret is not configured, or the upstream is in maintenance (`upstream_maintenance`)",
				{
					code: "not_configured",
					message: "the service is not configured: missing CRUN_API_KEY",
				},
			),
			...bodyErrors,
		},
	}),
	async (c) => {
		const config = loadConfig(c.env);
		const body = c.req.valid("json");
		const watching = body.callback_url !== undefined;
		requireConfig(
			config,
			...(watching ? (["CRUN_API_KEY", "WEBHOOK_SECRET"] as const) : (["CRUN_API_KEY"] as const)),
		);
		// Checked before the upload, so that a refused callback never leaves an unwatched asset behind.
		if (body.callback_url !== undefined)
			checkRegistration(
				config,
				{ callback_url: body.callback_url, callback_headers: body.callback_headers },
				c.get("client"),
			);

		const outcome = await uploadAsset(crunSettings(config) as CrunSettings, {
			name: body.name,
			asset_type: body.asset_type,
			asset_url: body.asset_url,
		});
		if (outcome.kind !== "ok") throw uploadError(outcome);
		const assetId = outcome.assetId;
		if (!ASSET_ID_PATTERN.test(assetId))
			throw new HttpError(
				502,
				"upstream_error",
				"the upstream answered with an asset id this service cannot watch",
				{
					asset_id: assetId,
				},
			);
		if (body.callback_url === undefined) return c.json({ asset_id: assetId, watch: null }, 201);

		try {
			const { watch } = await registerWatch(c, config, {
				asset_id: assetId,
				callback_url: body.callback_url,
				events: body.events,
				metadata: body.metadata,
				callback_headers: body.callback_headers,
			});
			return c.json({ asset_id: assetId, watch }, 201);
		} catch (err) {
			// The asset exists upstream by now: whatever went wrong, the caller must learn its id.
			if (!(err instanceof HttpError)) {
				logEvent("error", "watch after upload failed", {
					request_id: c.get("requestId"),
					asset_id: assetId,
					error: errorText(err),
				});
				throw new HttpError(
					500,
					"internal_error",
					`the asset ${assetId} was uploaded but could not be watched; register the watch again`,
					{
						asset_id: assetId,
					},
				);
			}
			throw new HttpError(
				err.status,
				err.code,
				`the asset ${assetId} was uploaded but could not be watched: ${err.message}`,
				{
					asset_id: assetId,
				},
			);
		}
	},
);
