// The request body size limit on /v1/*. Unlike Hono's bodyLimit, a Content-Length header is
// only used to refuse early, never trusted to let a body through: the bytes are counted as they
// arrive, so a header that understates the body cannot carry more than the limit past it.

import type { MiddlewareHandler } from "hono";
import { PayloadTooLargeError } from "../core/errors";
import { readAtMost } from "../core/streams";
import type { AppEnv } from "./app-env";

export function limitBodySize(maxBytes: number): MiddlewareHandler<AppEnv> {
	return async (c, next) => {
		const body = c.req.raw.body;
		if (!body) return next();
		const declared = Number(c.req.header("content-length"));
		if (Number.isFinite(declared) && declared > maxBytes) throw new PayloadTooLargeError(maxBytes);
		const { bytes, truncated } = await readAtMost(body, maxBytes);
		if (truncated) throw new PayloadTooLargeError(maxBytes);
		const size = bytes.byteLength;
		const headers = new Headers(c.req.raw.headers);
		// The handlers read what was counted; the header now says so too.
		headers.set("content-length", String(size));
		// A GET or HEAD that came with a body anyway cannot be rebuilt with one; no handler reads it.
		const method = c.req.method;
		c.req.raw = new Request(c.req.raw, {
			headers,
			body: method === "GET" || method === "HEAD" ? null : bytes,
		});
		await next();
	};
}
