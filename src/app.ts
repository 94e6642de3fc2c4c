// The Hono root: request ids, auth, body limits and content-type checks on /v1/*, the resource
// sub-apps, the OpenAPI document, and the one door every error leaves through (`onError`),
// which answers with the envelope `{ "error": { "code", "message", "details"? } }`.

import { OpenAPIHono } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { version } from "../package.json";
import { HttpError, NotFoundError, UnsupportedMediaTypeError, ValidationError } from "./core/errors";
import { errorText, logEvent } from "./core/log";
import { countCalls, countedEnv, countingObjectCalls, objectCalls } from "./core/object-calls";
import { dashboard } from "./dashboard";
import { registerDashboard } from "./dashboard/openapi";
import { rejectUnservedMethods } from "./http/allowed-methods";
import type { AppEnv } from "./http/app-env";
import { requireToken } from "./http/auth";
import { limitBodySize } from "./http/body-size";
import { limitRequestRate } from "./http/request-rate";
import { withholdSecrets } from "./http/secret-egress";
import { validationError } from "./http/validation";
import { assets } from "./routes/assets";
import { docs, markPublicRoutes, OPENAPI_PATH, registerWebhooks } from "./routes/docs";
import { health } from "./routes/health";
import { receivers } from "./routes/receivers";
import { recovery } from "./routes/recovery";
import { stats } from "./routes/stats";
import { watchList } from "./routes/watch-list";
import { watches } from "./routes/watches";

export const MAX_BODY_BYTES = 64 * 1024;

export const app = new OpenAPIHono<AppEnv>({
	defaultHook: (result) => {
		if (!result.success)
			throw validationError(result.error, result.target === "json" ? "body" : result.target);
	},
});

// The bench's count of object calls per request (off unless BENCH_COUNT_OBJECT_CALLS is set).
app.use(async (c, next) => {
	if (!countingObjectCalls(c.env)) return next();
	c.env = countedEnv(c.env);
	const { calls } = await countCalls(() => next());
	c.header("x-object-calls", String(calls));
	c.header("x-object-calls-total", String(objectCalls.total));
});
app.use(requestId());
// Outermost after the request id, so it sees every answer, errors and 404s included.
app.use(withholdSecrets());

app.use("/v1/*", requireToken());
app.use("/v1/*", limitRequestRate());
app.use(rejectUnservedMethods(() => app.routes));
app.use("/v1/*", limitBodySize(MAX_BODY_BYTES));
app.use("/v1/*", async (c, next) => {
	if (c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH") {
		const type = c.req.header("content-type") ?? "";
		const hasBody = c.req.header("content-length") !== "0" && (c.req.raw.body !== null || type !== "");
		if (hasBody && !/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) {
			// A POST with no body at all (redeliver) needs no content type.
			if (type !== "" || c.req.header("content-length") !== undefined) throw new UnsupportedMediaTypeError();
		}
	}
	await next();
});

app.route("/", health);
// Before the watch routes: `/redeliver` is the bulk recovery, not a watch id.
app.route("/v1/watches", recovery);
app.route("/v1/watches", watches);
app.route("/v1/assets", assets);
app.route("/v1/watches", watchList);
app.route("/v1/stats", stats);
app.route("/v1/receivers", receivers);
app.route("/", docs);
app.route("/dashboard", dashboard);
registerWebhooks(app.openAPIRegistry);
registerDashboard(app.openAPIRegistry);
// After every route is mounted: the document marks the routes outside /v1 as needing no token.
markPublicRoutes(app.openAPIRegistry);

app.doc31(OPENAPI_PATH, {
	openapi: "3.1.0",
	info: {
		title: "seedance-asset-watcher",
		version,
		license: { name: "MIT", url: "https://spdx.org/licenses/MIT.html" },
		description:
			'Turns Crun\'s poll-only Seedance asset status API into signed Standard Webhooks callbacks. `/v1/*` needs `Authorization: Bearer <token>`. Every error answers `{ "error": { "code", "message", "details"? } }` with an `x-request-id` header. The callbacks this service POSTs to your `callback_url` are described under `webhooks`, with how to verify them.',
	},
	// Relative: the deployment that serves the document is the one it describes, under any domain.
	servers: [{ url: "/", description: "this deployment" }],
	security: [{ bearer: [] }],
});
app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });

app.notFound((c) =>
	new NotFoundError("not_found", `no route for ${c.req.method} ${c.req.path}`).toResponse(c.get("requestId")),
);

/** Hono's HTTPException, recognised by shape: bundlers may load more than one copy of hono. */
function asHttpException(err: unknown): HTTPException | null {
	if (err instanceof HTTPException) return err;
	const e = err as Partial<HTTPException> | null;
	return e && typeof e.status === "number" && typeof e.getResponse === "function"
		? (e as HTTPException)
		: null;
}

app.onError((err, c) => {
	const rid = c.get("requestId");
	if (err instanceof HttpError) return err.toResponse(rid);
	const http = asHttpException(err);
	if (http) {
		// bearerAuth's answers are built by src/http/auth.ts in the envelope already.
		if (http.status === 401) return http.getResponse();
		if (http.status === 400) return new ValidationError(`invalid request: ${http.message}`).toResponse(rid);
		if (http.status === 404) return new NotFoundError("not_found", http.message).toResponse(rid);
		return new HttpError(http.status as 400, `http_${http.status}`, http.message).toResponse(rid);
	}
	if (err instanceof SyntaxError)
		return new ValidationError("request body is not valid JSON").toResponse(rid);
	logEvent("error", "unhandled error", { request_id: rid, error: errorText(err) });
	return new HttpError(
		500,
		"internal_error",
		"an unexpected error occurred; quote the x-request-id when reporting it",
	).toResponse(rid);
});
