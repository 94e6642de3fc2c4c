// /v1/watches: register (one or a batch), read, cancel and redeliver. Each handler validates,
// reaches the asset's Durable Object (the watch id names its asset) and makes one RPC call.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyErrors, commonErrors, errorResponse } from "../api/errors";
import { BatchBody, RegisterBody, WatchIdParam } from "../api/requests";
import { BatchResult, NEW_WATCH_EXAMPLE, WatchSchema } from "../api/resources";
import { inBatches } from "../core/batches";
import { loadConfig, requireConfig } from "../core/config";
import { HttpError, NotFoundError } from "../core/errors";
import { assetOfWatchId } from "../core/ids";
import { errorText, logEvent } from "../core/log";
import type { AppEnv } from "../http/app-env";
import { checkedJson } from "../http/secret-egress";
import { forgetCachedStatus } from "../http/status-cache";
import { validationError } from "../http/validation";
import { prepareWatchQuota } from "../http/watch-quota";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";
import type { WatchView } from "../watcher/views";
import { quotaContext, registerWatch } from "./registration";

export const watches = new OpenAPIHono<AppEnv>();

/** Batch items registered at once. */
const BATCH_CONCURRENCY = 8;

function stubForWatch(env: Env, id: string) {
	const assetId = assetOfWatchId(id);
	if (!assetId) throw new NotFoundError("watch_not_found", "no such watch");
	return assetWatcher(env, assetId);
}

// The three single-watch operations, shared by the API below and the dashboard: each reaches the
// watch's asset object with one RPC and throws the API's error (404, 409, 503) on failure.

export async function readWatch(env: Env, owner: string, id: string): Promise<WatchView> {
	return unwrap(stubForWatch(env, id).getWatch(id, owner));
}

/** Cancels, then forgets the edge-cached status of the asset (its `watched` may have changed). */
export async function cancelWatch(
	env: Env,
	owner: string,
	id: string,
	requestUrl: string,
): Promise<WatchView> {
	const watch = await unwrap(stubForWatch(env, id).cancel(id, owner));
	await forgetCachedStatus(requestUrl, watch.asset_id);
	return watch;
}

export async function redeliverWatch(env: Env, owner: string, id: string): Promise<WatchView> {
	requireConfig(loadConfig(env), "WEBHOOK_SECRET");
	return unwrap(stubForWatch(env, id).redeliver(id, owner));
}

const watchResponse = (description: string) => ({
	description,
	content: { "application/json": { schema: WatchSchema } },
});

watches.openapi(
	createRoute({
		method: "post",
		operationId: "registerWatch",
		path: "/",
		summary: "Register a watch",
		description:
			"Watches an asset and POSTs a signed callback when it becomes Active or Failed (or the watch expires). Registering the same asset_id + callback_url again with the same token returns the existing watch, unchanged, with 200.",
		request: { body: { required: true, content: { "application/json": { schema: RegisterBody } } } },
		responses: {
			201: watchResponse("A new watch"),
			200: watchResponse("This token already watches this asset with this callback_url: the existing watch"),
			409: errorResponse("Too many live watches on this asset"),
			...commonErrors,
			...bodyErrors,
		},
	}),
	async (c) => {
		const config = loadConfig(c.env);
		requireConfig(config, "CRUN_API_KEY", "WEBHOOK_SECRET");
		const { created, watch } = await registerWatch(c, config, c.req.valid("json"));
		if (created) await forgetCachedStatus(c.req.url, watch.asset_id);
		return checkedJson(c, c.json(watch, created ? 201 : 200), watch);
	},
);

watches.openapi(
	createRoute({
		method: "post",
		operationId: "registerWatches",
		path: "/batch",
		summary: "Register up to 100 watches",
		description:
			"Each item is validated and registered on its own; the answer has a result per item, in order.",
		request: { body: { required: true, content: { "application/json": { schema: BatchBody } } } },
		responses: {
			200: {
				description: "A result per item",
				content: {
					"application/json": {
						schema: z.object({ results: z.array(BatchResult) }),
						example: {
							results: [
								{
									index: 0,
									status: 201,
									watch: NEW_WATCH_EXAMPLE,
								},
								{
									index: 1,
									status: 400,
									error: {
										code: "invalid_request",
										message:
											"invalid watches[1]: asset_id: asset_id must be 1-128 characters of A-Z a-z 0-9 . _ : -",
									},
								},
							],
						},
					},
				},
			},
			...commonErrors,
			...bodyErrors,
		},
	}),
	async (c) => {
		const config = loadConfig(c.env);
		requireConfig(config, "CRUN_API_KEY", "WEBHOOK_SECRET");
		const items = c.req.valid("json").watches;
		const results: z.infer<typeof BatchResult>[] = new Array(items.length);
		// The token's count is read once up front, so the items take their slots in order.
		await prepareWatchQuota(quotaContext(c), c.get("owner"));
		// Registrations fan out to different Durable Objects: a few at a time keeps the batch quick.
		await inBatches(items, BATCH_CONCURRENCY, async (item, index) => {
			const parsed = RegisterBody.safeParse(item);
			try {
				if (!parsed.success) throw validationError(parsed.error, `watches[${index}]`);
				const { created, watch } = await registerWatch(c, config, parsed.data);
				if (created) await forgetCachedStatus(c.req.url, watch.asset_id);
				results[index] = { index, status: created ? 201 : 200, watch };
			} catch (err) {
				if (!(err instanceof HttpError)) {
					// One item's trouble (an object briefly unreachable) must not sink the other 99.
					logEvent("error", "batch item failed", { index, error: errorText(err) });
					results[index] = {
						index,
						status: 503,
						error: {
							code: "unavailable",
							message: "this item could not be registered just now; send it again",
						},
					};
					return;
				}
				const error = {
					code: err.code,
					message: err.message,
					...(err.details !== undefined ? { details: err.details } : {}),
				};
				results[index] = { index, status: err.status, error };
			}
		});
		return c.json({ results }, 200);
	},
);

watches.openapi(
	createRoute({
		method: "get",
		operationId: "getWatch",
		path: "/{id}",
		summary: "Get a watch",
		description:
			"The watch with its delivery state and latest delivery attempts. Other tokens' watches answer 404.",
		request: { params: WatchIdParam },
		responses: {
			200: watchResponse("The watch"),
			404: errorResponse("No such watch for this token"),
			...commonErrors,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		return c.json(await readWatch(c.env, c.get("owner"), id), 200);
	},
);

watches.openapi(
	createRoute({
		method: "delete",
		operationId: "cancelWatch",
		path: "/{id}",
		summary: "Cancel a watch",
		description:
			"No further callbacks for this watch; the asset stops being polled when no live watch remains.",
		request: { params: WatchIdParam },
		responses: {
			200: watchResponse("The cancelled watch"),
			404: errorResponse("No such watch for this token"),
			...commonErrors,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		return c.json(await cancelWatch(c.env, c.get("owner"), id, c.req.url), 200);
	},
);

watches.openapi(
	createRoute({
		method: "post",
		operationId: "redeliverWatch",
		path: "/{id}/redeliver",
		summary: "Send the watch's event again",
		description:
			"Sends the watch's terminal event again with the same webhook-id and body, restarting the retry schedule.",
		request: { params: WatchIdParam },
		responses: {
			202: watchResponse("Redelivery scheduled"),
			404: errorResponse("No such watch for this token"),
			409: errorResponse(
				"The watch has no event yet (`no_event_yet`), or it was cancelled (`watch_cancelled`) or skipped (`watch_skipped`)",
			),
			...commonErrors,
		},
	}),
	async (c) => {
		const { id } = c.req.valid("param");
		return c.json(await redeliverWatch(c.env, c.get("owner"), id), 202);
	},
);
