// The documentation: `GET /docs` renders `/openapi.json` with Scalar served from this origin
// (docs-page.ts; no auth), and the document
// describes the callbacks this service sends as OpenAPI 3.1 `webhooks` — their body, their
// Standard Webhooks headers, what a receiver should answer and how it verifies a signature.
// The document itself is generated from the routes' zod schemas (`app.doc31` in app.ts).

import { OpenAPIHono, z } from "@hono/zod-openapi";
import { CallbackEventSchema } from "../api/resources";
import type { AppEnv } from "../http/app-env";
import { DOCS_CSP, docsPage } from "./docs-page";

export const DOCS_PATH = "/docs";
export const OPENAPI_PATH = "/openapi.json";

export const docs = new OpenAPIHono<AppEnv>();

const DOCS_HTML = docsPage({ title: "seedance-asset-watcher API", openapiPath: OPENAPI_PATH });

docs.get(DOCS_PATH, (c) => {
	// The page is static for a release; the document it loads is fetched fresh.
	c.header("cache-control", "public, max-age=300");
	c.header("content-security-policy", DOCS_CSP);
	c.header("x-content-type-options", "nosniff");
	return c.html(DOCS_HTML);
});

docs.openAPIRegistry.registerPath({
	method: "get",
	operationId: "getApiReference",
	path: DOCS_PATH,
	summary: "API reference page",
	description:
		"This document rendered as an interactive reference (Scalar, served from this origin: nothing is loaded from elsewhere). No auth.",
	tags: ["Documentation"],
	security: [],
	responses: {
		200: {
			description:
				"An HTML page that loads the reference's scripts from `/docs/` on this origin and renders `/openapi.json`, with a plain link to it",
			content: {
				"text/html": {
					schema: z.string(),
					example: "<!doctype html><html><head><title>seedance-asset-watcher API</title>…",
				},
			},
		},
	},
});

docs.openAPIRegistry.registerPath({
	method: "get",
	operationId: "getOpenApiDocument",
	path: OPENAPI_PATH,
	summary: "OpenAPI 3.1 document",
	description:
		"This document: every route, its schemas and examples, and the callbacks as `webhooks`. No auth.",
	tags: ["Documentation"],
	security: [],
	responses: {
		200: {
			description: "The OpenAPI 3.1 document",
			content: {
				"application/json": {
					schema: z.record(z.string(), z.unknown()),
					example: {
						openapi: "3.1.0",
						info: { title: "seedance-asset-watcher", version: "0.1.0" },
						paths: {},
						webhooks: {},
					},
				},
			},
		},
	},
});

const VERIFY = `
Every callback is a Standard Webhooks message: verify it with the secret you share with the
service (\`whsec_…\`: your client's own when the operator gave it one in \`CLIENT_WEBHOOK_SECRETS\`,
else the service's \`WEBHOOK_SECRET\`) before you trust it, and dedupe on \`webhook-id\` (delivery
is at-least-once).

\`\`\`ts
import { Webhook } from "standardwebhooks";

const wh = new Webhook(process.env.WEBHOOK_SECRET); // "whsec_…"
// rawBody: the exact bytes received, before any JSON parsing
const event = wh.verify(rawBody, {
	"webhook-id": req.headers["webhook-id"],
	"webhook-timestamp": req.headers["webhook-timestamp"],
	"webhook-signature": req.headers["webhook-signature"],
}); // throws on a bad signature or a timestamp more than 5 minutes off
\`\`\`

Or, with this service's TypeScript client, on any \`Request\`:

\`\`\`ts
import { verifyCallback } from "seedance-asset-watcher-client";
const event = await verifyCallback(request, env.WEBHOOK_SECRET); // typed; throws CallbackVerificationError
\`\`\`

Answer any 2xx once the event is stored. \`410 Gone\` cancels the watch. Anything else (3xx, 4xx,
5xx, a timeout, a network error) is retried with the same \`webhook-id\` and body on the schedule
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±10 %), honouring your \`Retry-After\` up to one hour.
`.trim();

const CallbackHeaders = z.object({
	"webhook-id": z.string().openapi({
		description: "One per watch and event; identical on every retry and redelivery. Dedupe on it.",
		example: "msg_2b6yq4k7d3m5x7t2hz4wq3ra",
	}),
	"webhook-timestamp": z
		.string()
		.openapi({ description: "Unix seconds of this attempt", example: "1795885200" }),
	"webhook-signature": z.string().openapi({
		description:
			'`v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` keyed with the base64-decoded secret after `whsec_`; several space-separated signatures while secrets rotate.',
		example: "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
	}),
	"user-agent": z
		.string()
		.openapi({ description: "`seedance-asset-watcher/<version>`", example: "seedance-asset-watcher/0.1.0" }),
	"content-type": z.literal("application/json"),
});

const base = {
	watch_id: "w_k3v7q2m4x5d5t3r6p2n4_YXNzZXQtMjAyNjExMjgtN2YzYQ",
	asset_id: "asset-20261128-7f3a",
	name: "intro.mp4",
	asset_type: "Video",
	create_time: "2026-11-28T16:58:02.000Z",
	metadata: { job: "j-42" },
};
const upstream = (status: string, extra: Record<string, unknown> = {}) => ({
	AssetId: base.asset_id,
	Name: base.name,
	AssetType: base.asset_type,
	Status: status,
	CreateTime: "2026-11-28T16:58:02Z",
	UpdateTime: 1795885181,
	...extra,
});

const EVENTS = [
	{
		type: "asset.active",
		operationId: "onAssetActive",
		summary: "The asset is Active",
		description: "Sent once the upstream reports `Active`. The asset can be used from now on.",
		example: {
			type: "asset.active",
			timestamp: "2026-11-28T17:00:00.000Z",
			data: {
				...base,
				status: "Active",
				update_time: "2026-11-28T16:59:41.000Z",
				upstream: upstream("Active"),
				upstream_message: "success",
				reason: null,
			},
		},
	},
	{
		type: "asset.failed",
		operationId: "onAssetFailed",
		summary: "The asset Failed",
		description:
			"Sent once the upstream reports `Failed`. The upstream's error is passed through untouched: its `data` object in `data.upstream` and its `message` in `data.upstream_message`.",
		example: {
			type: "asset.failed",
			timestamp: "2026-11-28T17:00:00.000Z",
			data: {
				...base,
				status: "Failed",
				update_time: "2026-11-28T16:59:41.000Z",
				upstream: upstream("Failed", {
					ErrorMessage: "Asset processing failed: the file could not be decoded",
				}),
				upstream_message: "Asset processing failed: the file could not be decoded",
				reason: null,
			},
		},
	},
	{
		type: "watch.expired",
		operationId: "onWatchExpired",
		summary: "The watch gave up",
		description:
			"Sent when the watch ends without a terminal status: `reason` is `ttl` (no terminal status within WATCH_TTL_S), `not_found` (the upstream answered 404 at least three times over at least 60 s) or `invalid_asset_id` (the upstream answered 422). `status` is the last one known.",
		example: {
			type: "watch.expired",
			timestamp: "2026-11-30T16:58:05.000Z",
			data: {
				...base,
				status: "Processing",
				update_time: "2026-11-28T16:58:02.000Z",
				upstream: upstream("Processing"),
				upstream_message: "success",
				reason: "ttl",
			},
		},
	},
] as const;

/** Adds the callbacks to the document's `webhooks`, one entry per event type. */
export function registerWebhooks(registry: OpenAPIHono["openAPIRegistry"]): void {
	for (const e of EVENTS) {
		registry.registerWebhook({
			method: "post",
			path: e.type,
			operationId: e.operationId,
			summary: e.summary,
			description: `${e.description}\n\nPOSTed to the watch's \`callback_url\` with its \`callback_headers\`.\n\n${VERIFY}`,
			tags: ["Callbacks"],
			security: [],
			request: {
				headers: CallbackHeaders,
				body: {
					required: true,
					content: { "application/json": { schema: CallbackEventSchema, example: e.example } },
				},
			},
			responses: {
				200: { description: "Any 2xx: delivered; no further attempts" },
				410: { description: "Gone: the watch is cancelled; no further attempts" },
				429: {
					description:
						"Retried; a `Retry-After` (seconds or HTTP-date) delays the next attempt, at most one hour",
				},
				500: { description: "Any other answer, a timeout or a network error: retried on the schedule" },
			},
		});
	}
}

/**
 * Only `/v1/*` needs a token (SPEC §3): every other documented route says so, whatever module
 * declared it, rather than inheriting the document's default bearer requirement.
 */
export function markPublicRoutes(registry: OpenAPIHono["openAPIRegistry"]): void {
	for (const def of registry.definitions) {
		if (def.type === "route" && !def.route.path.startsWith("/v1/") && def.route.security === undefined)
			def.route.security = [];
	}
}
