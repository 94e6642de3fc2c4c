// Domain errors: each names the condition and carries its HTTP status and envelope code.
// Every error leaves the service through `app.onError`, which turns these into
// `{ "error": { "code", "message", "details"? } }`; anything else is logged and becomes a 500.

import type { ContentfulStatusCode } from "hono/utils/http-status";

/** A `Retry-After` header of whole seconds, never less than one. */
export function retryAfterHeader(seconds: number): Record<string, string> {
	return { "retry-after": String(Math.max(1, Math.ceil(seconds))) };
}

export class HttpError extends Error {
	constructor(
		readonly status: ContentfulStatusCode,
		readonly code: string,
		message: string,
		readonly details?: unknown,
		readonly headers?: Record<string, string>,
	) {
		super(message);
		this.name = new.target.name;
	}

	toResponse(requestId?: string): Response {
		const error: Record<string, unknown> = { code: this.code, message: this.message };
		if (this.details !== undefined) error.details = this.details;
		const headers = new Headers({ "content-type": "application/json; charset=UTF-8", ...this.headers });
		if (requestId) headers.set("x-request-id", requestId);
		return new Response(JSON.stringify({ error }), { status: this.status, headers });
	}
}

export class ValidationError extends HttpError {
	constructor(message: string, details?: unknown) {
		super(400, "invalid_request", message, details);
	}
}

export class UnauthorizedError extends HttpError {
	constructor(message = "a valid bearer token is required") {
		super(401, "unauthorized", message, undefined, {
			"www-authenticate": 'Bearer realm="seedance-asset-watcher"',
		});
	}
}

export class NotFoundError extends HttpError {
	constructor(code: string, message: string) {
		super(404, code, message);
	}
}

export class MethodNotAllowedError extends HttpError {
	constructor(method: string, path: string, allowed: string[]) {
		super(
			405,
			"method_not_allowed",
			`${method} is not allowed on ${path}; use ${allowed.join(", ")}`,
			{ allowed },
			{
				allow: allowed.join(", "),
			},
		);
	}
}

export class PayloadTooLargeError extends HttpError {
	constructor(limit: number) {
		super(413, "payload_too_large", `request body exceeds ${limit} bytes`);
	}
}

export class UnsupportedMediaTypeError extends HttpError {
	constructor() {
		super(415, "unsupported_media_type", "request body must be JSON (content-type: application/json)");
	}
}

export class RateLimitedError extends HttpError {
	constructor(message: string, retryAfterS: number) {
		super(429, "rate_limited", message, undefined, retryAfterHeader(retryAfterS));
	}
}

export class NotConfiguredError extends HttpError {
	constructor(
		readonly missing: string[],
		readonly invalid: { name: string; problem: string }[] = [],
	) {
		const said = [
			missing.length > 0 ? `missing ${missing.join(", ")}` : "",
			...invalid.map((i) => `${i.name} is invalid (${i.problem})`),
		].filter(Boolean);
		super(503, "not_configured", `the service is not configured: ${said.join("; ")}`, { missing, invalid });
	}
}
