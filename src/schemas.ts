// The public API's shapes as zod schemas: one set feeds request validation, the handlers' types
// and the OpenAPI document. Objects are strict, so unknown fields are refused by name.

import { z } from "@hono/zod-openapi";
import { ASSET_ID_PATTERN } from "./ids";
import { EVENT_TYPES, WATCH_STATES } from "./watcher/model";

export const MAX_METADATA_BYTES = 4096;
export const MAX_CALLBACK_HEADERS = 10;
export const MAX_BATCH = 100;

export const AssetId = z.string().regex(ASSET_ID_PATTERN, "asset_id must be 1-128 characters of A-Z a-z 0-9 . _ : -").openapi({
	example: "asset-20261128-7f3a",
});

export const EventTypeSchema = z.enum(EVENT_TYPES);

const HOP_BY_HOP = new Set(["connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "host", "user-agent"]);
export function refusedHeaderName(name: string): boolean {
	const n = name.toLowerCase();
	return HOP_BY_HOP.has(n) || n.startsWith("webhook-") || n.startsWith("content-") || n.startsWith("proxy-");
}

const CallbackHeaders = z
	.record(
		z
			.string()
			.regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/, "header names must be HTTP tokens of at most 64 characters")
			.refine((n) => !refusedHeaderName(n), {
				message: "this header name is reserved (webhook-*, host, content-*, user-agent, and hop-by-hop headers)",
			}),
		z.string().max(1024).regex(/^[^\r\n\0]*$/, "header values must not contain CR, LF or NUL"),
	)
	.refine((h) => Object.keys(h).length <= MAX_CALLBACK_HEADERS, { message: `at most ${MAX_CALLBACK_HEADERS} callback_headers` })
	.openapi({
		description: "Extra headers sent with every callback (receiver auth). Values are stored but never returned.",
		example: { authorization: "Bearer receiver-secret" },
	});

const Metadata = z
	.record(z.string(), z.unknown())
	.refine((m) => new TextEncoder().encode(JSON.stringify(m)).byteLength <= MAX_METADATA_BYTES, {
		message: `metadata must serialize to at most ${MAX_METADATA_BYTES} bytes`,
	})
	.openapi({ description: "Any JSON object up to 4 KiB, echoed in callbacks.", example: { job: "j-42" } });

export const RegisterBody = z
	.strictObject({
		asset_id: AssetId,
		callback_url: z.string().min(1).max(2048).openapi({ example: "https://example.com/hooks/seedance" }),
		events: z
			.array(EventTypeSchema)
			.min(1)
			.refine((e) => new Set(e).size === e.length, { message: "events must not repeat" })
			.optional()
			.openapi({ description: "Which events to send; default all." }),
		metadata: Metadata.optional(),
		callback_headers: CallbackHeaders.optional(),
	})
	.openapi("RegisterWatch");
export type RegisterBody = z.infer<typeof RegisterBody>;

export const BatchBody = z
	.strictObject({ watches: z.array(z.unknown()).min(1).max(MAX_BATCH) })
	.openapi("RegisterWatchBatch", { description: `Up to ${MAX_BATCH} registrations, each validated on its own.` });

export const AssetStatusSchema = z
	.object({
		asset_id: z.string(),
		status: z.enum(["Processing", "Active", "Failed", "Unknown"]),
		watched: z.boolean(),
		name: z.string().nullable(),
		asset_type: z.string().nullable(),
		create_time: z.string().nullable(),
		update_time: z.string().nullable(),
		checked_at: z.string().nullable(),
		next_check_at: z.string().nullable(),
		checks: z.number().int(),
		last_error: z.string().nullable(),
	})
	.openapi("AssetStatus");

export const DeliverySchema = z
	.object({
		event_type: EventTypeSchema,
		webhook_id: z.string(),
		attempts: z.number().int(),
		max_attempts: z.number().int(),
		next_attempt_at: z.string().nullable(),
		last_status: z.number().int().nullable(),
		last_error: z.string().nullable(),
		last_attempt_at: z.string().nullable(),
		delivered_at: z.string().nullable(),
		recent_attempts: z.array(
			z.object({
				attempt: z.number().int(),
				at: z.string(),
				status: z.number().int().nullable(),
				error: z.string().nullable(),
				duration_ms: z.number().int().nullable(),
			}),
		),
	})
	.openapi("Delivery");

export const WatchSchema = z
	.object({
		id: z.string(),
		asset_id: z.string(),
		callback_url: z.string(),
		events: z.array(EventTypeSchema),
		metadata: z.record(z.string(), z.unknown()),
		callback_header_names: z.array(z.string()),
		state: z.enum(WATCH_STATES),
		asset_status: z.enum(["Processing", "Active", "Failed", "Unknown"]),
		created_at: z.string(),
		updated_at: z.string(),
		expires_at: z.string(),
		delivery: DeliverySchema.nullable(),
	})
	.openapi("Watch");

export const ErrorSchema = z
	.object({
		error: z.object({
			code: z.string().openapi({ example: "invalid_request" }),
			message: z.string(),
			details: z.unknown().optional(),
		}),
	})
	.openapi("Error");

export const WatchIdParam = z.object({
	id: z.string().min(1).max(400).openapi({ param: { name: "id", in: "path" }, example: "w_abcdefghijklmnopqrst_YXNzZXQtMQ" }),
});

export const HealthSchema = z
	.object({
		ok: z.boolean(),
		version: z.string(),
		missing_config: z.array(z.string()),
		invalid_config: z.array(z.object({ name: z.string(), problem: z.string() })),
	})
	.openapi("Health");

const errorResponse = (description: string) => ({
	description,
	content: { "application/json": { schema: ErrorSchema } },
});

/** The error answers every authenticated route can give. */
export const commonErrors = {
	400: errorResponse("Invalid request: every validation error, with details"),
	401: errorResponse("Missing or invalid bearer token"),
	503: errorResponse("A required secret is not configured (`not_configured`, naming it)"),
};
export const bodyErrors = {
	413: errorResponse("Body over 64 KiB"),
	415: errorResponse("Body is not JSON"),
};
export { errorResponse };
