// /v1/assets/:asset_id: the status lookup. Watched assets are answered from their Durable Object
// with no upstream call; unwatched ones through one coalesced, briefly cached upstream check.
// Terminal answers carry Cache-Control and a strong ETag, and a matching If-None-Match gets 304.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { loadConfig, requireConfig } from "../config";
import { NotFoundError } from "../errors";
import { AssetId, AssetStatusSchema, commonErrors, errorResponse } from "../schemas";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";

export const assets = new OpenAPIHono<AppEnv>();

export const TERMINAL_MAX_AGE_S = 60;

async function etagOf(body: string): Promise<string> {
	const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body));
	const hex = [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
	return `"${hex}"`;
}

function etagMatches(header: string | undefined, etag: string): boolean {
	if (!header) return false;
	return header.split(",").some((t) => {
		const v = t.trim();
		return v === "*" || v === etag || v === `W/${etag}`;
	});
}

assets.openapi(
	createRoute({
		method: "get",
		path: "/{asset_id}",
		summary: "Look up an asset's status",
		description:
			"A watched asset is answered from the service's state with no upstream call; an unwatched one costs at most one upstream call per asset per few seconds. `refresh=true` forces a check (at most once per asset per 5 s; 429 beyond). Terminal answers carry Cache-Control and an ETag.",
		request: {
			params: z.object({ asset_id: AssetId.openapi({ param: { name: "asset_id", in: "path" } }) }),
			query: z.strictObject({
				refresh: z.enum(["true", "false"]).optional().openapi({ description: "Force an upstream check" }),
			}),
		},
		responses: {
			200: { description: "The asset's status", content: { "application/json": { schema: AssetStatusSchema } } },
			304: { description: "Not modified (terminal answer matching If-None-Match)" },
			404: errorResponse("An unwatched asset the upstream does not know (`asset_not_found`)"),
			429: errorResponse("Refreshed too recently (Retry-After says when to try again)"),
			502: errorResponse("The upstream could not be checked"),
			...commonErrors,
		},
	}),
	async (c) => {
		requireConfig(loadConfig(c.env), "CRUN_API_KEY");
		const { asset_id } = c.req.valid("param");
		const refresh = c.req.valid("query").refresh === "true";
		const answer = await unwrap(assetWatcher(c.env, asset_id).lookup(asset_id, refresh));
		if (!answer.found) throw new NotFoundError("asset_not_found", "the upstream does not know this asset");
		const view = answer.view;
		if (view.status !== "Active" && view.status !== "Failed") {
			c.header("cache-control", "no-store");
			return c.json(view, 200);
		}
		const body = JSON.stringify(view);
		const etag = await etagOf(body);
		c.header("etag", etag);
		c.header("cache-control", `private, max-age=${TERMINAL_MAX_AGE_S}`);
		if (etagMatches(c.req.header("if-none-match"), etag)) return c.body(null, 304);
		return c.json(view, 200);
	},
);
