// GET /v1/receivers: the calling token's receiver origins and their circuits (docs/delivery.md),
// a page at a time. Read from the token's own directory and origin objects, which are named by its
// owner hash: no token can see another's origins, their state or their pending deliveries.

import { createRoute, OpenAPIHono, type z } from "@hono/zod-openapi";
import { commonErrors, errorResponse } from "../api/errors";
import { ReceiverListQuery, ReceiverListSchema } from "../api/recovery";
import { fromBase64Url, toBase64Url } from "../core/base64url";
import { ValidationError } from "../core/errors";
import type { AppEnv } from "../http/app-env";
import { listReceivers } from "../receivers/reads";

export const receivers = new OpenAPIHono<AppEnv>();

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One page of the owner's receiver origins, as `GET /v1/receivers` answers; shared with the dashboard. */
export async function receiverPage(
	env: Env,
	owner: string,
	q: z.output<typeof ReceiverListQuery>,
): Promise<z.output<typeof ReceiverListSchema>> {
	const after = q.cursor === undefined ? null : fromBase64Url(q.cursor);
	if (q.cursor !== undefined && (after === null || after === ""))
		throw new ValidationError("invalid query: cursor is not one this service issued", {
			issues: [{ path: "cursor", code: "invalid_cursor", message: "not a cursor from next_cursor" }],
		});
	const page = await listReceivers(env, owner, after, q.limit);
	return {
		receivers: page.records.map((r) => ({
			origin: r.origin,
			state: r.state,
			consecutive_failures: r.failures,
			last_error: r.last_error,
			last_error_at: iso(r.last_error_at),
			last_success_at: iso(r.last_success_at),
			paused_at: r.state === "paused" ? iso(r.paused_at) : null,
			next_probe_at: r.state === "paused" ? iso(r.probe_at) : null,
			pending_deliveries: r.pending,
		})),
		next_cursor: page.next === null ? null : toBase64Url(page.next),
	};
}

receivers.openapi(
	createRoute({
		method: "get",
		operationId: "listReceivers",
		path: "/",
		summary: "Your receiver origins",
		description:
			"Every callback origin (scheme, host, port) your token's deliveries went to, in origin order, with its circuit: after RECEIVER_TRIP_FAILURES consecutive failed attempts an origin is `paused`, its deliveries wait without spending attempts, one probe goes out per RECEIVER_PROBE_S, and the probe that succeeds makes every waiting delivery due at once. Another token's origins (even the same URL) are its own and never shown here.",
		request: { query: ReceiverListQuery },
		responses: {
			200: {
				description: "A page of receiver origins",
				content: { "application/json": { schema: ReceiverListSchema } },
			},
			...commonErrors,
			503: errorResponse(
				"A required secret is not configured, or the receiver state did not answer (`receivers_unavailable`)",
			),
		},
	}),
	async (c) => c.json(await receiverPage(c.env, c.get("owner"), c.req.valid("query")), 200),
);
