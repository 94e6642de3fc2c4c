// GET /dashboard: the operator's pages, server-rendered, behind the same tokens as /v1 (signed in
// once with a token, then a session cookie). Each route is thin: it calls what the matching API
// route calls (statsFor, watchPage, readWatch, redeliverWatch, cancelWatch, the asset's lookup RPC)
// and renders the answer. guards.ts and session.ts hold the security; pages.tsx the views.

import { Hono } from "hono";
import { BulkRedeliverBody } from "../api/recovery";
import { clock } from "../core/clock";
import { HttpError } from "../core/errors";
import { limitRequestRate } from "../http/request-rate";
import { validationError } from "../http/validation";
import { redeliverMatching } from "../routes/recovery";
import { ListQuery, watchPage } from "../routes/watch-list";
import { cancelWatch, readWatch, redeliverWatch } from "../routes/watches";
import { assetWatcher } from "../watcher/asset-watcher";
import { unwrap } from "../watcher/result";
import type { WatchView } from "../watcher/views";
import {
	BASE,
	clearSessionCookie,
	type DashboardEnv,
	formPostsOnly,
	pageHeaders,
	requireSession,
	SIGN_IN_PATH,
	safeNext,
	sessionConfig,
	setSessionCookie,
} from "./guards";
import { render } from "./layout";
import {
	type AssetPanel,
	ErrorPage,
	isNotice,
	OverviewPage,
	SignInPage,
	WatchDetailPage,
	WatchListPage,
} from "./pages";
import { OVERVIEW_PANELS, panelContext } from "./panels";
import { OUTCOME_KEYS, outcomeOf, outcomeQuery, sinceOf } from "./recovery";
import { SESSION_TTL_S, startSession } from "./session";
import { STYLESHEET, STYLESHEET_HASH } from "./style";

export const dashboard = new Hono<DashboardEnv>();

dashboard.use(pageHeaders());
dashboard.use(formPostsOnly());

dashboard.get("/static/:file", (c) => {
	if (!/^dashboard\.[0-9a-f]{8}\.css$/.test(c.req.param("file")))
		throw new HttpError(404, "not_found", "no such file");
	// The current release's hash is immutable; an older page asking for its own gets today's, briefly cached.
	const current = c.req.param("file") === `dashboard.${STYLESHEET_HASH}.css`;
	c.header("cache-control", current ? "public, max-age=31536000, immutable" : "public, max-age=60");
	c.header("content-type", "text/css; charset=utf-8");
	return c.body(STYLESHEET);
});

dashboard.get("/sign-in", (c) => {
	sessionConfig(c.env);
	return render(c, <SignInPage next={safeNext(c.req.query("next"))} />);
});

dashboard.post("/sign-in", async (c) => {
	const config = sessionConfig(c.env);
	const form = await c.req.parseBody();
	const next = safeNext(form.next);
	const token = typeof form.token === "string" ? form.token.trim() : "";
	const started = token === "" ? null : await startSession(config, token, clock.now());
	if (!started) {
		// The token itself is never logged; the request id lets an operator find the attempt.
		console.warn(JSON.stringify({ msg: "dashboard sign-in refused", request_id: c.get("requestId") }));
		return render(c, <SignInPage next={next} refused />, 401);
	}
	setSessionCookie(c, started.cookie, SESSION_TTL_S);
	return c.redirect(next, 303);
});

// Everything below needs a session; it counts against the token's request rate like /v1 does.
dashboard.use(requireSession());
dashboard.use(limitRequestRate());

dashboard.post("/sign-out", (c) => {
	clearSessionCookie(c);
	return c.redirect(SIGN_IN_PATH, 303);
});

dashboard.get("/", async (c) => {
	const now = clock.now();
	const ctx = panelContext(c.env, c.get("owner"), now);
	const panels = await Promise.all(
		OVERVIEW_PANELS.map(async (p) => ({ title: p.title, wide: p.wide, body: await p.render(ctx) })),
	);
	return render(c, <OverviewPage session={c.get("session")} panels={panels} now={now} />);
});

dashboard.get("/watches", async (c) => {
	const all = c.req.query();
	const outcome = outcomeOf(all);
	// A filter form sends empty fields for "any": those are no filter at all; the outcome of a bulk
	// redelivery rides along, and is no filter either.
	const raw = Object.fromEntries(
		Object.entries(all).filter(([k, v]) => v !== "" && !(OUTCOME_KEYS as readonly string[]).includes(k)),
	);
	const parsed = ListQuery.safeParse(raw);
	if (!parsed.success) throw validationError(parsed.error, "filter");
	const page = await watchPage(c.env, c.get("owner"), parsed.data);
	return render(
		c,
		<WatchListPage
			session={c.get("session")}
			filter={{ state: parsed.data.state, asset_id: parsed.data.asset_id }}
			page={page}
			firstPage={parsed.data.cursor === undefined}
			outcome={outcome}
			now={clock.now()}
		/>,
	);
});

dashboard.post("/watches/redeliver", async (c) => {
	const form = await c.req.parseBody();
	const since = sinceOf(form.since);
	const cursor = typeof form.cursor === "string" && form.cursor !== "" ? form.cursor : undefined;
	const body = BulkRedeliverBody.safeParse({ state: "failed", since, cursor });
	if (!body.success) throw validationError(body.error, "form");
	const r = await redeliverMatching(c.env, c.get("owner"), body.data);
	const query = new URLSearchParams({
		state: "failed",
		...outcomeQuery({
			matched: r.matched,
			redelivered: r.redelivered,
			more: r.next_cursor,
			since: since ?? null,
		}),
	});
	return c.redirect(`${BASE}/watches?${query}`, 303);
});

/**
 * The watch's asset as `GET /v1/assets/:id` shows it, through the same RPC. Only while the watch is
 * not cancelled: the asset is then watched, so the answer comes from its object with no upstream call.
 */
async function assetOf(env: Env, watch: WatchView): Promise<AssetPanel> {
	if (watch.state === "cancelled") return { kind: "hidden" };
	try {
		const answer = await unwrap(assetWatcher(env, watch.asset_id).lookup(watch.asset_id, false));
		return answer.found
			? { kind: "view", view: answer.view }
			: { kind: "error", message: "the asset is gone" };
	} catch (err) {
		if (!(err instanceof HttpError)) throw err;
		return { kind: "error", message: err.message };
	}
}

dashboard.get("/watches/:id", async (c) => {
	const watch = await readWatch(c.env, c.get("owner"), c.req.param("id"));
	const asset = await assetOf(c.env, watch);
	const done = c.req.query("done");
	return render(
		c,
		<WatchDetailPage
			session={c.get("session")}
			watch={watch}
			asset={asset}
			notice={isNotice(done) ? done : undefined}
			now={clock.now()}
		/>,
	);
});

const backToWatch = (id: string, done: string) => `${BASE}/watches/${encodeURIComponent(id)}?done=${done}`;

dashboard.post("/watches/:id/redeliver", async (c) => {
	const id = c.req.param("id");
	await redeliverWatch(c.env, c.get("owner"), id);
	return c.redirect(backToWatch(id, "redelivered"), 303);
});

dashboard.post("/watches/:id/cancel", async (c) => {
	const id = c.req.param("id");
	await cancelWatch(c.env, c.get("owner"), id, c.req.url);
	return c.redirect(backToWatch(id, "cancelled"), 303);
});

dashboard.all("/*", (c) => {
	if (c.req.path === `${BASE}/`) return c.redirect(BASE, 308);
	throw new HttpError(404, "not_found", "no such page");
});

/** Hono's HTTPException (the csrf middleware's 403), recognised by shape like app.ts does. */
const statusOf = (err: unknown): number | null => {
	const s = (err as { status?: unknown } | null)?.status;
	return typeof s === "number" && typeof (err as { getResponse?: unknown }).getResponse === "function"
		? s
		: null;
};

dashboard.onError((err, c) => {
	const requestId = c.get("requestId");
	const session = c.get("session");
	if (err instanceof HttpError) {
		for (const [k, v] of Object.entries(err.headers ?? {})) if (k !== "www-authenticate") c.header(k, v);
		return render(
			c,
			<ErrorPage status={err.status} message={err.message} requestId={requestId} session={session} />,
			err.status,
		);
	}
	const status = statusOf(err);
	if (status !== null && status >= 400 && status < 500) {
		// The csrf middleware's refusal is the one expected here; any other is the request's fault too.
		const message =
			status === 403
				? "This form was not sent from this site's own page, so nothing was changed."
				: "This request could not be handled, so nothing was changed.";
		return render(
			c,
			<ErrorPage status={status} message={message} requestId={requestId} session={session} />,
			status as 400,
		);
	}
	console.error(
		JSON.stringify({
			msg: "unhandled dashboard error",
			request_id: requestId,
			error: err instanceof Error ? err.message : String(err),
		}),
	);
	return render(
		c,
		<ErrorPage
			status={500}
			message="An unexpected error occurred; quote the request id when reporting it."
			requestId={requestId}
			session={session}
		/>,
		500,
	);
});
