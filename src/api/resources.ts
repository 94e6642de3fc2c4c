// The response shapes of the public API as zod schemas: a watch, its delivery, an asset's status,
// list pages, batch results, health, and the callback body this service POSTs. The views the
// Durable Objects build are typed as these schemas' outputs (src/watcher/views.ts).

import { z } from "@hono/zod-openapi";
import { ASSET_STATUSES, EXPIRY_REASONS, WATCH_STATES } from "../core/states";
import { EventTypeSchema } from "./requests";

export const AssetStatusSchema = z
	.object({
		asset_id: z.string(),
		status: z.enum(ASSET_STATUSES),
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
		waiting_for_receiver_since: z.string().nullable().openapi({
			description:
				"Since when this delivery waits for its paused receiver origin (GET /v1/receivers), spending no attempts: it is sent as soon as a probe to the origin succeeds; `next_attempt_at` is then only when it looks again on its own. Null when it does not wait",
		}),
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
		asset_status: z.enum(ASSET_STATUSES),
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

export const HealthSchema = z
	.object({
		ok: z.boolean(),
		version: z.string(),
		missing_config: z.array(z.string()),
		invalid_config: z.array(z.object({ name: z.string(), problem: z.string() })),
	})
	.openapi("Health", { example: { ok: true, version: "0.1.0", missing_config: [], invalid_config: [] } });

export const UploadResultSchema = z
	.object({
		asset_id: z.string().openapi({ description: "The id Crun gave the new asset" }),
		// A union, not .nullable(): in OpenAPI 3.1 the latter becomes allOf [Watch, null], which no value satisfies.
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
			status: z.enum(ASSET_STATUSES).openapi({ description: "For watch.expired, the last status known" }),
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
				.enum(EXPIRY_REASONS)
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
export type CallbackEvent = z.output<typeof CallbackEventSchema>;

export const WatchSummarySchema = z
	.object({
		id: z.string(),
		asset_id: z.string(),
		state: z.enum(WATCH_STATES),
		asset_status: z.enum(ASSET_STATUSES),
		created_at: z.string(),
		updated_at: z.string(),
		expires_at: z.string(),
	})
	.openapi("WatchSummary");

export const WatchListSchema = z
	.object({
		watches: z.array(WatchSummarySchema),
		next_cursor: z
			.string()
			.nullable()
			.openapi({ description: "Pass as `cursor` for the next page; null on the last page" }),
	})
	.openapi("WatchList");

export const BatchResult = z
	.object({
		index: z.number().int(),
		status: z.number().int().openapi({ description: "201 created, 200 existing, or the error's status" }),
		watch: WatchSchema.optional(),
		error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }).optional(),
	})
	.openapi("BatchResult");
