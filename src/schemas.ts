// The public API's shapes as zod schemas: one set feeds request validation, the handlers' types
// and the OpenAPI document. Objects are strict, so unknown fields are refused by name.

import { z } from "@hono/zod-openapi";
import { ASSET_ID_PATTERN } from "./ids";
import { EVENT_TYPES, WATCH_STATES } from "./watcher/model";

export const MAX_METADATA_BYTES = 4096;
export const MAX_CALLBACK_HEADERS = 10;
export const MAX_BATCH = 100;

export const AssetId = z
	.string()
	.regex(ASSET_ID_PATTERN, "asset_id must be 1-128 characters of A-Z a-z 0-9 . _ : -")
	.openapi({
		example: "asset-20261128-7f3a",
	});

export const EventTypeSchema = z.enum(EVENT_TYPES);

const HOP_BY_HOP = new Set([
	"connection",
	"keep-alive",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"host",
	"user-agent",
]);
export function refusedHeaderName(name: string): boolean {
	const n = name.toLowerCase();
	return HOP_BY_HOP.has(n) || n.startsWith("webhook-") || n.startsWith("content-") || n.startsWith("proxy-");
}

const CallbackHeaders = z
	.record(
		z
			.string()
			.regex(
				/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/,
				"header names must be HTTP tokens of at most 64 characters",
			)
			.refine((n) => !refusedHeaderName(n), {
				message:
					"this header name is reserved (webhook-*, host, content-*, user-agent, and hop-by-hop headers)",
			}),
		z
			.string()
			.max(1024)
			.regex(/^[^\r\n\0]*$/, "header values must not contain CR, LF or NUL"),
	)
	.refine((h) => Object.keys(h).length <= MAX_CALLBACK_HEADERS, {
		message: `at most ${MAX_CALLBACK_HEADERS} callback_headers`,
	})
	.openapi({
		description:
			"Extra headers sent with every callback (receiver auth). Values are stored but never returned.",
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
	.openapi("RegisterWatch", {
		example: {
			asset_id: "asset-20261128-7f3a",
			callback_url: "https://example.com/hooks/seedance",
			events: ["asset.active", "asset.failed"],
			metadata: { job: "j-42" },
			callback_headers: { authorization: "Bearer receiver-secret" },
		},
	});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const BatchBody = z
	.strictObject({ watches: z.array(z.unknown()).min(1).max(MAX_BATCH) })
	.openapi("RegisterWatchBatch", {
		description: `Up to ${MAX_BATCH} registrations, each validated on its own.`,
		example: {
			watches: [
				{ asset_id: "asset-20261128-7f3a", callback_url: "https://example.com/hooks/seedance" },
				{
					asset_id: "asset-20261128-81bc",
					callback_url: "https://example.com/hooks/seedance",
					events: ["asset.active"],
				},
			],
		},
	});

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
	.openapi("AssetStatus", {
		example: {
			asset_id: "asset-20261128-7f3a",
			status: "Active",
			watched: true,
			name: "intro.mp4",
			asset_type: "Video",
			create_time: "2026-11-28T16:58:02.000Z",
			update_time: "2026-11-28T16:59:41.000Z",
			checked_at: "2026-11-28T17:00:00.000Z",
			next_check_at: null,
			checks: 4,
			last_error: null,
		},
	});

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

/** A watch as it is right after registration: the example several answers share. */
export const NEW_WATCH_EXAMPLE = {
	id: "w_k3v7q2m4x5d5t3r6p2n4_YXNzZXQtMjAyNjExMjgtN2YzYQ",
	asset_id: "asset-20261128-7f3a",
	callback_url: "https://example.com/hooks/seedance",
	events: ["asset.active", "asset.failed", "watch.expired"],
	metadata: {},
	callback_header_names: [],
	state: "watching",
	asset_status: "Unknown",
	created_at: "2026-11-28T16:58:05.000Z",
	updated_at: "2026-11-28T16:58:05.000Z",
	expires_at: "2026-11-30T16:58:05.000Z",
	delivery: null,
};

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
	.openapi("Watch", {
		example: {
			id: "w_k3v7q2m4x5d5t3r6p2n4_YXNzZXQtMjAyNjExMjgtN2YzYQ",
			asset_id: "asset-20261128-7f3a",
			callback_url: "https://example.com/hooks/seedance",
			events: ["asset.active", "asset.failed", "watch.expired"],
			metadata: { job: "j-42" },
			callback_header_names: ["authorization"],
			state: "delivered",
			asset_status: "Active",
			created_at: "2026-11-28T16:58:05.000Z",
			updated_at: "2026-11-28T17:00:00.412Z",
			expires_at: "2026-11-30T16:58:05.000Z",
			delivery: {
				event_type: "asset.active",
				webhook_id: "msg_2b6yq4k7d3m5x7t2hz4wq3ra",
				attempts: 1,
				max_attempts: 8,
				next_attempt_at: null,
				last_status: 204,
				last_error: null,
				last_attempt_at: "2026-11-28T17:00:00.412Z",
				delivered_at: "2026-11-28T17:00:00.412Z",
				recent_attempts: [
					{ attempt: 1, at: "2026-11-28T17:00:00.412Z", status: 204, error: null, duration_ms: 87 },
				],
			},
		},
	});

export const ErrorSchema = z
	.object({
		error: z.object({
			code: z.string().openapi({ example: "invalid_request" }),
			message: z.string(),
			details: z.unknown().optional(),
		}),
	})
	.openapi("Error", {
		example: {
			error: {
				code: "invalid_request",
				message: "unknown field in body: callbackurl",
				details: { issues: [] },
			},
		},
	});

export const WatchIdParam = z.object({
	id: z
		.string()
		.min(1)
		.max(400)
		.openapi({ param: { name: "id", in: "path" }, example: "w_abcdefghijklmnopqrst_YXNzZXQtMQ" }),
});

export const HealthSchema = z
	.object({
		ok: z.boolean(),
		version: z.string(),
		missing_config: z.array(z.string()),
		invalid_config: z.array(z.object({ name: z.string(), problem: z.string() })),
	})
	.openapi("Health", { example: { ok: true, version: "0.1.0", missing_config: [], invalid_config: [] } });

export const AssetTypeSchema = z.enum(["Image", "Video", "Audio"]);

export const UploadBody = z
	.strictObject({
		name: z
			.string()
			.min(1)
			.max(255)
			.openapi({ description: "The asset's name at Crun", example: "intro.mp4" }),
		asset_type: AssetTypeSchema.openapi({ example: "Video" }),
		asset_url: z
			.url({ protocol: /^https?$/, message: "asset_url must be an http(s) URL" })
			.max(2048)
			.openapi({
				description: "Where Crun fetches the file",
				example: "https://cdn.example.com/media/intro.mp4",
			}),
		callback_url: RegisterBody.shape.callback_url.optional().openapi({
			description: "When given, the new asset is watched in the same call and this URL gets its callback.",
		}),
		events: RegisterBody.shape.events,
		metadata: RegisterBody.shape.metadata,
		callback_headers: RegisterBody.shape.callback_headers,
	})
	.openapi("UploadAsset", {
		example: {
			name: "intro.mp4",
			asset_type: "Video",
			asset_url: "https://cdn.example.com/media/intro.mp4",
			callback_url: "https://example.com/hooks/seedance",
			metadata: { job: "j-42" },
		},
	});
export type UploadBody = z.infer<typeof UploadBody>;

export const UploadResultSchema = z
	.object({
		asset_id: z.string().openapi({ description: "The id Crun gave the new asset" }),
		// A union rather than .nullable(): on a registered schema the latter becomes
		// allOf [Watch, {type: [object, null]}], which no null satisfies.
		watch: z.union([WatchSchema, z.null()]).openapi({
			description: "The new watch, or null when no callback_url was given",
		}),
	})
	.openapi("UploadResult", {
		example: {
			asset_id: "asset-20261128-7f3a",
			watch: { ...NEW_WATCH_EXAMPLE, metadata: { job: "j-42" } },
		},
	});

/** The JSON body of every callback (SPEC §4): built once per watch and event, identical on every retry. */
export const CallbackEventSchema = z
	.object({
		type: EventTypeSchema.openapi({ description: "`asset.active`, `asset.failed` or `watch.expired`" }),
		timestamp: z
			.string()
			.openapi({ description: "When the event happened (not when this attempt was sent)" }),
		data: z.object({
			watch_id: z.string(),
			asset_id: z.string(),
			status: z
				.enum(["Processing", "Active", "Failed", "Unknown"])
				.openapi({ description: "For watch.expired, the last status known" }),
			name: z.string().nullable(),
			asset_type: z.string().nullable(),
			create_time: z.string().nullable(),
			update_time: z.string().nullable(),
			metadata: z.record(z.string(), z.unknown()).openapi({ description: "The watch's metadata, echoed" }),
			upstream: z
				.record(z.string(), z.unknown())
				.nullable()
				.openapi({ description: "The upstream's raw `data` object (a Failed asset's error is in here)" }),
			upstream_message: z.string().nullable().openapi({ description: "The upstream's `message`" }),
			reason: z
				.enum(["ttl", "not_found", "invalid_asset_id"])
				.nullable()
				.openapi({ description: "Why a watch expired; null for asset events" }),
		}),
	})
	.openapi("CallbackEvent", {
		example: {
			type: "asset.active",
			timestamp: "2026-11-28T17:00:00.000Z",
			data: {
				watch_id: "w_k3v7q2m4x5d5t3r6p2n4_YXNzZXQtMjAyNjExMjgtN2YzYQ",
				asset_id: "asset-20261128-7f3a",
				status: "Active",
				name: "intro.mp4",
				asset_type: "Video",
				create_time: "2026-11-28T16:58:02.000Z",
				update_time: "2026-11-28T16:59:41.000Z",
				metadata: { job: "j-42" },
				upstream: {
					AssetId: "asset-20261128-7f3a",
					Name: "intro.mp4",
					AssetType: "Video",
					Status: "Active",
					CreateTime: "2026-11-28T16:58:02Z",
					UpdateTime: 1795885181,
				},
				upstream_message: "success",
				reason: null,
			},
		},
	});
export type CallbackEvent = z.infer<typeof CallbackEventSchema>;

/** An error answer in the document; `example` is the `error` object a client would see. */
const errorResponse = (
	description: string,
	example?: { code: string; message: string; details?: unknown },
) => ({
	description,
	content: {
		"application/json": { schema: ErrorSchema, ...(example ? { example: { error: example } } : {}) },
	},
});

/** The error answers every authenticated route can give. */
export const commonErrors = {
	400: errorResponse("Invalid request: every validation error, with details", {
		code: "invalid_request",
		message: "unknown field in body: callbackurl",
		details: {
			issues: [{ path: "", code: "unrecognized_keys", message: 'Unrecognized key: "callbackurl"' }],
		},
	}),
	401: errorResponse("Missing or invalid bearer token", {
		code: "unauthorized",
		message: "the bearer token is not valid",
	}),
	503: errorResponse(
		"A required secret is missing or invalid (`not_configured`, naming it, never its value)",
		{
			code: "not_configured",
			message: "the service is not configured: missing CRUN_API_KEY",
			details: { missing: ["CRUN_API_KEY"], invalid: [] },
		},
	),
};
export const bodyErrors = {
	413: errorResponse("Body over 64 KiB", {
		code: "payload_too_large",
		message: "request body exceeds 65536 bytes",
	}),
	415: errorResponse("Body is not JSON", {
		code: "unsupported_media_type",
		message: "request body must be JSON (content-type: application/json)",
	}),
};
export { errorResponse };
