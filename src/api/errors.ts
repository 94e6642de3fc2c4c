// The error envelope `{ "error": { "code", "message", "details"? } }` as a zod schema, and the
// error answers the OpenAPI document lists for each route (with the example a client would see).

import { z } from "@hono/zod-openapi";

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

/** An error answer in the document; `example` is the `error` object a client would see. */
export const errorResponse = (
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
