// The public shapes of recovery: `GET /v1/receivers` (the token's receiver origins and their
// circuits) and the bulk `POST /v1/watches/redeliver`, as zod schemas feeding validation, the
// handlers' types and the OpenAPI document.

import { z } from "@hono/zod-openapi";
import { ORIGIN_STATES } from "../core/states";
import { AssetId } from "./requests";

export const BULK_REDELIVER_MAX = 100;
export const RECEIVERS_DEFAULT_LIMIT = 50;
export const RECEIVERS_MAX_LIMIT = 100;

const count = z.number().int().min(0);
const when = (description: string) => z.string().nullable().openapi({ description, format: "date-time" });
const cursor = z.string().min(1).max(600);

/** The documents' example of an origin: one that is paused. */
const PAUSED_EXAMPLE = {
	origin: "https://example.com",
	state: "paused" as const,
	consecutive_failures: 12,
	last_error: "network error: connect ECONNREFUSED",
	last_error_at: "2026-11-28T17:03:00.000Z",
	last_success_at: "2026-11-28T16:58:41.000Z",
	paused_at: "2026-11-28T17:01:10.000Z",
	next_probe_at: "2026-11-28T17:04:00.000Z",
	pending_deliveries: 37,
};

export const ReceiverSchema = z
	.object({
		origin: z
			.string()
			.openapi({ description: "Scheme, host and port of your callback URLs (the default port left out)" }),
		state: z.enum(ORIGIN_STATES).openapi({
			description:
				"`healthy`; `failing`: some consecutive failed attempts, fewer than RECEIVER_TRIP_FAILURES; `paused`: its deliveries wait, spending no attempts, and one probe goes out per RECEIVER_PROBE_S",
		}),
		consecutive_failures: count.openapi({ description: "Failed attempts since the last success" }),
		last_error: z.string().nullable().openapi({ description: "What the last failed attempt got" }),
		last_error_at: when("When the last failed attempt was made"),
		last_success_at: when("The last success this service heard of (successes are sampled, not all recorded)"),
		paused_at: when("When it was paused; null unless paused"),
		next_probe_at: when("While paused: when the next probe goes out"),
		pending_deliveries: count.openapi({
			description: "Deliveries waiting for it to come back (made due at once when a probe succeeds)",
		}),
	})
	.openapi("Receiver", { example: PAUSED_EXAMPLE });

export const ReceiverListSchema = z
	.object({
		receivers: z.array(ReceiverSchema),
		next_cursor: z
			.string()
			.nullable()
			.openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
	})
	.openapi("ReceiverList", {
		example: {
			receivers: [
				PAUSED_EXAMPLE,
				{
					origin: "https://hooks.example.org",
					state: "healthy",
					consecutive_failures: 0,
					last_error: null,
					last_error_at: null,
					last_success_at: "2026-11-28T17:02:55.000Z",
					paused_at: null,
					next_probe_at: null,
					pending_deliveries: 0,
				},
			],
			next_cursor: null,
		},
	});

export const ReceiverListQuery = z.strictObject({
	limit: z.coerce
		.number()
		.int()
		.min(1)
		.max(RECEIVERS_MAX_LIMIT)
		.default(RECEIVERS_DEFAULT_LIMIT)
		.openapi({
			description: `Page size, 1–${RECEIVERS_MAX_LIMIT} (default ${RECEIVERS_DEFAULT_LIMIT})`,
			type: "integer",
		}),
	cursor: cursor.optional().openapi({ description: "The `next_cursor` of the previous page" }),
});

const instant = (description: string) =>
	z.iso
		.datetime({ offset: true, message: "must be an ISO-8601 date-time, e.g. 2026-11-28T17:00:00Z" })
		.openapi({
			description,
			example: "2026-11-28T17:00:00Z",
		});

export const BulkRedeliverBody = z
	.strictObject({
		state: z.enum(["failed", "delivered"]).default("failed").openapi({
			description: "Which watches to send again: `failed` (retries ran out; the default) or `delivered`",
		}),
		since: instant("Only watches whose last change (`updated_at`) is at or after this").optional(),
		until: instant("Only watches whose last change is before this").optional(),
		asset_id: AssetId.optional().openapi({ description: "Only watches on this asset" }),
		limit: z
			.number()
			.int()
			.min(1)
			.max(BULK_REDELIVER_MAX)
			.default(BULK_REDELIVER_MAX)
			.openapi({
				description: `Watches handled by this call, 1–${BULK_REDELIVER_MAX} (default ${BULK_REDELIVER_MAX})`,
			}),
		cursor: cursor.optional().openapi({ description: "The `next_cursor` of the previous call, to go on" }),
	})
	.refine(
		(b) => b.since === undefined || b.until === undefined || Date.parse(b.since) < Date.parse(b.until),
		{
			message: "since must be before until",
			path: ["until"],
		},
	)
	.openapi("BulkRedeliver", {
		example: { state: "failed", since: "2026-11-28T17:00:00Z" },
	});

export const BulkRedeliverResult = z
	.object({
		matched: count.openapi({
			description: "Watches of this token this call found matching (at most `limit`)",
		}),
		redelivered: count.openapi({
			description:
				"Of those, how many got their event again now; a watch already notifying (redelivered by an earlier call, say) is left alone",
		}),
		next_cursor: z.string().nullable().openapi({
			description: "More may match: send the same body again with this `cursor`; null when done",
		}),
	})
	.openapi("BulkRedeliverResult", {
		example: { matched: 100, redelivered: 100, next_cursor: "WzE3OTU4ODUyMDAwMDAsIndfYWJjIl0" },
	});
