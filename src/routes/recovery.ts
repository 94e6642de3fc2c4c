// POST /v1/watches/redeliver: bulk recovery. The token's watches in a state (`failed` by default,
// or `delivered`), optionally last changed in a window and on one asset, are read from the watch
// index a page at a time (never by visiting every asset) and each gets its event again with its
// original webhook-id. Each asset object re-checks its own row first, so a watch already notifying
// (a second call while the first one's deliveries are in flight) is left alone, and a call that
// died half-way is simply repeated.

import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { bodyErrors, commonErrors, errorResponse } from "../api/errors";
import { BulkRedeliverBody, BulkRedeliverResult } from "../api/recovery";
import { inBatches } from "../core/batches";
import { loadConfig, requireConfig } from "../core/config";
import { HttpError, ValidationError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import type { AppEnv } from "../http/app-env";
import { decodeCursor, encodeCursor } from "../watch-index/cursor";
import { listWatches } from "../watch-index/reads";
import { assetWatcher } from "../watcher/asset-watcher";

export const recovery = new OpenAPIHono<AppEnv>();

/** Asset objects called at once by one bulk call. */
const REDELIVER_CONCURRENCY = 8;

/** One bulk redelivery call, as `POST /v1/watches/redeliver` answers; shared with the dashboard. */
export async function redeliverMatching(
	env: Env,
	owner: string,
	q: z.output<typeof BulkRedeliverBody>,
): Promise<z.output<typeof BulkRedeliverResult>> {
	requireConfig(loadConfig(env), "WEBHOOK_SECRET");
	const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
	if (q.cursor !== undefined && after === null)
		throw new ValidationError("invalid body: cursor is not one this service issued", {
			issues: [{ path: "cursor", code: "invalid_cursor", message: "not a cursor from next_cursor" }],
		});
	const from = q.since === undefined ? null : Date.parse(q.since);
	const to = q.until === undefined ? null : Date.parse(q.until);
	const page = await listWatches(
		env,
		owner,
		{ state: q.state, asset_id: q.asset_id, updated_from: from ?? undefined, updated_to: to ?? undefined },
		after,
		q.limit,
	);
	const only = { state: q.state, from, to };
	let redelivered = 0;
	let unreachable = 0;
	await inBatches(page.rows, REDELIVER_CONCURRENCY, async (w) => {
		try {
			// 409: it moved on since the index saw it (notifying already); 404: purged meanwhile.
			if ((await assetWatcher(env, w.asset_id).redeliver(w.id, owner, only)).ok) redelivered++;
		} catch (err) {
			unreachable++;
			logEvent("warn", "bulk redelivery item failed", { error: errorText(err) });
		}
	});
	if (unreachable > 0)
		throw new HttpError(
			503,
			"unavailable",
			`${unreachable} of the ${page.rows.length} matching watches could not be reached; send the same request again (the ones already redelivered are left alone)`,
		);
	return {
		matched: page.rows.length,
		redelivered,
		next_cursor: page.next === null ? null : encodeCursor(page.next),
	};
}

recovery.openapi(
	createRoute({
		method: "post",
		path: "/redeliver",
		operationId: "redeliverWatches",
		summary: "Redeliver many watches",
		description:
			"Sends the event again, with its original webhook-id and body, to every watch of this token that is `failed` (the default) or `delivered`, optionally only those last changed (`updated_at`) in [`since`, `until`) and on one `asset_id`. At most `limit` (100) watches per call: while `next_cursor` is not null, send the same body with that `cursor`. Idempotent: a watch already notifying is left alone, so repeating a call (one that failed half-way, say) changes nothing that already happened.",
		request: { body: { required: true, content: { "application/json": { schema: BulkRedeliverBody } } } },
		responses: {
			202: {
				description: "The matching watches of this page are being redelivered",
				content: { "application/json": { schema: BulkRedeliverResult } },
			},
			...commonErrors,
			...bodyErrors,
			503: errorResponse(
				"A required secret is not configured, the index did not answer (`index_unavailable`), or some watches could not be reached (`unavailable`: send the same request again)",
			),
		},
	}),
	async (c) => c.json(await redeliverMatching(c.env, c.get("owner"), c.req.valid("json")), 202),
);
