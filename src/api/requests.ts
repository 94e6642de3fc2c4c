// The request shapes of the public API as zod schemas: bodies, path parameters and their limits.
// One definition feeds validation, the handlers' types and the OpenAPI document. Objects are
// strict, so unknown fields are refused by name.

import { z } from "@hono/zod-openapi";
import { ASSET_ID_PATTERN } from "../core/ids";
import { EVENT_TYPES } from "../core/states";

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

export const WatchIdParam = z.object({
	id: z
		.string()
		.min(1)
		.max(400)
		.openapi({ param: { name: "id", in: "path" }, example: "w_abcdefghijklmnopqrst_YXNzZXQtMQ" }),
});

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
