// GET /v1/watches: the calling token's watches, filtered by asset_id and state, in one stable order
// (created_at, then id) across every index shard, a page at a time with an opaque cursor. Items
// are the index's summaries; GET /v1/watches/:id has the full watch.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ValidationError } from "../errors";
import { AssetId, commonErrors, errorResponse } from "../schemas";
import { listWatches } from "../sweep/index-reads";
import { decodeCursor, encodeCursor } from "../sweep/policy";
import { publicStatus, WATCH_STATES } from "../watcher/model";

export const watchList = new OpenAPIHono<AppEnv>();

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

const ListQuery = z.strictObject({
	asset_id: AssetId.optional().openapi({ description: "Only watches on this asset" }),
	state: z.enum(WATCH_STATES).optional().openapi({ description: "Only watches in this state" }),
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(LIST_MAX_LIMIT)
		.default(LIST_DEFAULT_LIMIT)
		.openapi({
			description: `Page size, 1–${LIST_MAX_LIMIT} (default ${LIST_DEFAULT_LIMIT})`,
			type: "integer",
		}),
	cursor: z
		.string()
		.min(1)
		.max(600)
		.optional()
		.openapi({ description: "The `next_cursor` of the previous page" }),
});

const iso = (ms: number) => new Date(ms).toISOString();

export const WatchSummarySchema = z
	.object({
		id: z.string(),
		asset_id: z.string(),
		state: z.enum(WATCH_STATES),
		asset_status: z.enum(["Processing", "Active", "Failed", "Unknown"]),
		created_at: z.string(),
		updated_at: z.string(),
		expires_at: z.string(),
	})
	.openapi("WatchSummary");

const WatchListSchema = z
	.object({
		watches: z.array(WatchSummarySchema),
		next_cursor: z
			.string()
			.nullable()
			.openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
	})
	.openapi("WatchList");

watchList.openapi(
	createRoute({
		method: "get",
		operationId: "listWatches",
		path: "/",
		summary: "List your watches",
		description:
			"The calling token's watches (never another token's), oldest first (created_at, then id), optionally only those on one `asset_id` and/or in one `state`. Each item is a summary kept by the service's index, which follows the watch within moments; `GET /v1/watches/{id}` gives the full watch with its delivery attempts. Watches of purged assets (RETENTION_S after they finished) are gone from the list.",
		request: { query: ListQuery },
		responses: {
			200: { description: "A page of watches", content: { "application/json": { schema: WatchListSchema } } },
			...commonErrors,
			503: errorResponse(
				"A required secret is not configured, or the index did not answer (`index_unavailable`)",
			),
		},
	}),
	async (c) => {
		const q = c.req.valid("query");
		const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
		if (q.cursor !== undefined && after === null)
			throw new ValidationError("invalid query: cursor is not one this service issued", {
				issues: [{ path: "cursor", code: "invalid_cursor", message: "not a cursor from next_cursor" }],
			});
		const page = await listWatches(
			c.env,
			c.get("owner"),
			{ asset_id: q.asset_id, state: q.state },
			after,
			q.limit,
		);
		return c.json(
			{
				watches: page.rows.map((w) => ({
					id: w.id,
					asset_id: w.asset_id,
					state: w.state,
					asset_status: publicStatus(w.asset_status ?? "Unknown"),
					created_at: iso(w.created_at),
					updated_at: iso(w.updated_at),
					expires_at: iso(w.expires_at),
				})),
				next_cursor: page.next ? encodeCursor(page.next) : null,
			},
			200,
		);
	},
);
