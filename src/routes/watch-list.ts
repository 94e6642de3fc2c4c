// GET /v1/watches: the calling token's watches, filtered by asset_id and state, in one stable order
// (created_at, then id) across every index shard, a page at a time with an opaque cursor. Items
// are the index's summaries; GET /v1/watches/:id has the full watch.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { commonErrors, errorResponse } from "../api/errors";
import { AssetId } from "../api/requests";
import { WatchListSchema } from "../api/resources";
import { ValidationError } from "../core/errors";
import { publicStatus, WATCH_STATES } from "../core/states";
import type { AppEnv } from "../http/app-env";
import { decodeCursor, encodeCursor } from "../watch-index/cursor";
import { listWatches } from "../watch-index/reads";

export const watchList = new OpenAPIHono<AppEnv>();

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

export const ListQuery = z.strictObject({
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

/**
 * One page of the owner's watches for a validated query, in the shape `GET /v1/watches` answers;
 * shared with the dashboard's list. A cursor this service did not issue is a 400.
 */
export async function watchPage(
	env: Env,
	owner: string,
	q: z.output<typeof ListQuery>,
): Promise<z.output<typeof WatchListSchema>> {
	const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
	if (q.cursor !== undefined && after === null)
		throw new ValidationError("invalid query: cursor is not one this service issued", {
			issues: [{ path: "cursor", code: "invalid_cursor", message: "not a cursor from next_cursor" }],
		});
	const page = await listWatches(env, owner, { asset_id: q.asset_id, state: q.state }, after, q.limit);
	return {
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
	};
}

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
	async (c) => c.json(await watchPage(c.env, c.get("owner"), c.req.valid("query")), 200),
);
