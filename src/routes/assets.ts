// /v1/assets: status lookups and upload-and-watch. A terminal lookup answer is kept in the
// Workers cache under one synthetic key per asset (not per token: status is not token-scoped),
// so repeated lookups of a finished asset never reach its Durable Object; the rest go to the
// asset's object, which answers watched assets from storage and coalesces unwatched ones.
// Upload validates everything first, so a refused request never creates an asset upstream.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyErrors, commonErrors, errorResponse } from "../api/errors";
import { AssetId, UploadBody } from "../api/requests";
import { AssetStatusSchema, UploadResultSchema } from "../api/resources";
import { loadConfig, requireConfig } from "../core/config";
import { HttpError, NotFoundError } from "../core/errors";
import { ASSET_ID_PATTERN } from "../core/ids";
import { errorText, logEvent } from "../core/log";
import { type CrunSettings, crunSettings, uploadAsset } from "../crun/client";
import { uploadError } from "../crun/upload-answer";
import type { AppEnv } from "../http/app-env";
import { statusCacheKey } from "../http/status-cache";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";
import { checkRegistration, registerWatch } from "./registration";

export const assets = new OpenAPIHono<AppEnv>();

/**
 * How long a terminal answer is served from the edge cache, and at most from a client's cache.
 * The status of a terminal asset never changes; what can is `watched` (a watch registered or
 * cancelled since) and `checked_at`/`checks` (a forced refresh), so this bounds their staleness.
 */
export const TERMINAL_MAX_AGE_S = 60;

async function etagOf(body: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
	const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `"${hex}"`;
}

/** If-None-Match uses the weak comparison (RFC 9110 §13.1.2): W/"x" matches "x". */
export function etagMatches(header: string | undefined, etag: string): boolean {
	if (!header) return false;
	return header.split(",").some((t) => {
		const v = t.trim();
		return v === "*" || v === etag || v === `W/${etag}`;
	});
}

const STORED_AT = "x-stored-at";

type CachedStatus = { body: string; etag: string; ageS: number };

async function readCached(key: Request): Promise<CachedStatus | null> {
	try {
		const hit = await caches.default.match(key);
		if (!hit) return null;
		const etag = hit.headers.get("etag");
		const storedAt = Number(hit.headers.get(STORED_AT));
		if (!etag || !Number.isFinite(storedAt)) return null;
		return { body: await hit.text(), etag, ageS: Math.max(0, Math.floor((Date.now() - storedAt) / 1000)) };
	} catch {
		// A cache failure costs one Durable Object call, never the lookup.
		return null;
	}
}

async function storeCached(key: Request, body: string, etag: string): Promise<void> {
	try {
		await caches.default.put(
			key,
			new Response(body, {
				headers: {
					"content-type": "application/json",
					etag,
					"cache-control": `public, max-age=${TERMINAL_MAX_AGE_S}`,
					[STORED_AT]: String(Date.now()),
				},
			}),
		);
	} catch {
		// Not cached: the next lookup asks the Durable Object again.
	}
}

/** A terminal answer: ETag, the remaining lifetime as the client's max-age, and 304 when it matches. */
function terminalAnswer(c: Context<AppEnv>, cached: CachedStatus) {
	const maxAge = Math.max(0, TERMINAL_MAX_AGE_S - cached.ageS);
	const headers = { etag: cached.etag, "cache-control": `private, max-age=${maxAge}` };
	if (etagMatches(c.req.header("if-none-match"), cached.etag)) return c.body(null, 304, headers);
	return c.body(cached.body, 200, { ...headers, "content-type": "application/json" });
}

assets.openapi(
	createRoute({
		method: "get",
		path: "/{asset_id}",
		summary: "Look up an asset's status",
		description: [
			"A watched asset is answered from the service's state with no upstream call; an unwatched one costs at most one upstream call per asset per 5 s however many lookups arrive (they are coalesced), and leaves no state behind.",
			"",
			`Terminal answers (\`Active\`, \`Failed\`) carry a strong \`ETag\` and \`Cache-Control: private, max-age≤${TERMINAL_MAX_AGE_S}\`, answer \`304\` to a matching \`If-None-Match\`, and are served from the edge cache for up to ${TERMINAL_MAX_AGE_S} s: the status of a terminal asset never changes, but \`watched\`, \`checked_at\` and \`checks\` in a cached answer may be that old.`,
			"",
			"`refresh=true` skips the cache and forces an upstream check, at most once per asset per 5 s (429 with `Retry-After` beyond).",
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
					description: "An ETag from an earlier terminal answer",
					example: '"3f1c9a0e5b7d2c4e8a6f1b3d5c7e9a0b"',
				}),
			}),
		},
		responses: {
			200: {
				description: "The asset's status",
				headers: {
					etag: {
						description: "Strong validator of the body (terminal answers only)",
						schema: { type: "string" },
					},
					"cache-control": {
						description: `\`private, max-age=<s ≤ ${TERMINAL_MAX_AGE_S}>\` on terminal answers, \`no-store\` otherwise`,
						schema: { type: "string" },
					},
				},
				content: { "application/json": { schema: AssetStatusSchema } },
			},
			304: { description: "Not modified: the terminal answer matches If-None-Match" },
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
		const key = statusCacheKey(c.req.url, asset_id);
		if (!refresh) {
			const cached = await readCached(key);
			if (cached) return terminalAnswer(c, cached);
		}
		const answer = await unwrap(assetWatcher(c.env, asset_id).lookup(asset_id, refresh));
		if (!answer.found) throw new NotFoundError("asset_not_found", "the upstream does not know this asset");
		const view = answer.view;
		if (view.status !== "Active" && view.status !== "Failed") {
			c.header("cache-control", "no-store");
			return c.json(view, 200);
		}
		const body = JSON.stringify(view);
		const etag = await etagOf(body);
		// Awaited rather than left to waitUntil: the next lookup from this data centre should hit.
		await storeCached(key, body, etag);
		return terminalAnswer(c, { body, etag, ageS: 0 });
	},
);

assets.openapi(
	createRoute({
		method: "post",
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
					message: "the service is missing configuration: CRUN_API_KEY",
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
			checkRegistration(config, { callback_url: body.callback_url, callback_headers: body.callback_headers });

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
			const { watch } = await registerWatch(c.env, config, c.get("owner"), {
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
