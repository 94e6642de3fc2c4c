// What stands in front of every dashboard page: the security headers (a CSP that allows only this
// worker's stylesheet and no script at all), https outside local dev, the session cookie and its
// attributes, and for every POST a form body of bounded size from this origin (Origin or
// Sec-Fetch-Site, checked by Hono's csrf middleware) carrying the session's CSRF token.

import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { clock } from "../core/clock";
import { type Config, loadConfig, requireConfig } from "../core/config";
import { HttpError, NotConfiguredError } from "../core/errors";
import type { AppEnv } from "../http/app-env";
import { limitBodySize } from "../http/body-size";
import { csrfMatches, readSession, type Session } from "./session";

export type DashboardEnv = {
	Bindings: Env;
	Variables: AppEnv["Variables"] & { session: Session };
};
type Ctx = Context<DashboardEnv>;

export const BASE = "/dashboard";
export const SIGN_IN_PATH = `${BASE}/sign-in`;
/** A sign-in form or a button's form is small; anything bigger is not one of ours. */
const MAX_FORM_BYTES = 8 * 1024;

/** Plain http is accepted from this machine only (wrangler dev, npm start); elsewhere https. */
export function isLocalHttp(url: URL): boolean {
	return url.protocol === "http:" && /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/.test(url.hostname);
}

/**
 * The cookie's name and attributes by the request's scheme: over https `__Host-` (Secure, Path=/,
 * no Domain, so no sibling subdomain can plant or overwrite it); over plain http on this machine,
 * where browsers differ on keeping a Secure cookie, a plain name without Secure.
 */
function cookieFor(c: Ctx) {
	const secure = new URL(c.req.url).protocol === "https:";
	return {
		name: "dashboard_session",
		options: {
			path: "/",
			httpOnly: true,
			secure,
			sameSite: "Strict" as const,
			...(secure ? { prefix: "host" as const } : {}),
		},
	};
}

function readCookie(c: Ctx): string | undefined {
	const { name, options } = cookieFor(c);
	return getCookie(c, name, options.prefix);
}

export function setSessionCookie(c: Ctx, value: string, maxAgeS: number): void {
	const { name, options } = cookieFor(c);
	setCookie(c, name, value, { ...options, maxAge: maxAgeS });
}

export function clearSessionCookie(c: Ctx): void {
	const { name, options } = cookieFor(c);
	if (readCookie(c) !== undefined) deleteCookie(c, name, options);
}

/** Headers on every dashboard answer, the stylesheet included. */
export function pageHeaders(): MiddlewareHandler<DashboardEnv> {
	const strict = secureHeaders({
		contentSecurityPolicy: {
			defaultSrc: ["'none'"],
			scriptSrc: ["'none'"],
			styleSrc: ["'self'"],
			imgSrc: ["'self'"],
			formAction: ["'self'"],
			frameAncestors: ["'none'"],
			baseUri: ["'none'"],
		},
		xFrameOptions: "DENY",
		permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
	});
	return async (c, next) => {
		const url = new URL(c.req.url);
		if (url.protocol === "http:" && !isLocalHttp(url)) {
			// A session must never travel in the clear: off this machine, only https.
			if (c.req.method !== "GET" && c.req.method !== "HEAD")
				throw new HttpError(403, "https_required", "the dashboard is served over https only");
			url.protocol = "https:";
			return c.redirect(url.toString(), 308);
		}
		await strict(c, next);
		if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
	};
}

class UnsupportedFormError extends HttpError {
	constructor() {
		super(415, "unsupported_media_type", "the dashboard accepts only form posts");
	}
}

/** Every POST: a urlencoded form (so the csrf middleware always applies), small, from this origin. */
export function formPostsOnly(): MiddlewareHandler<DashboardEnv> {
	const sameOrigin = csrf();
	// The /v1 body limit, reused; it reads nothing of the session variable this app adds.
	const bounded = limitBodySize(MAX_FORM_BYTES) as unknown as MiddlewareHandler<DashboardEnv>;
	return async (c, next) => {
		if (c.req.method !== "POST") return next();
		if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(c.req.header("content-type") ?? ""))
			throw new UnsupportedFormError();
		await sameOrigin(c, async () => {
			await bounded(c, next);
		});
	};
}

/** The configuration sessions need (503 `not_configured` naming what is missing or invalid). */
export function sessionConfig(env: Env): Config {
	const config = loadConfig(env);
	requireConfig(config, "API_TOKENS");
	if (config.invalid.some((i) => i.name === "DASHBOARD_SESSION_SECRET"))
		throw new NotConfiguredError(["DASHBOARD_SESSION_SECRET"]);
	return config;
}

class SessionEndedError extends HttpError {
	constructor() {
		super(401, "session_ended", "you are signed out: sign in again with an API token");
	}
}

class CsrfError extends HttpError {
	constructor() {
		super(
			403,
			"csrf_token_mismatch",
			"this form is stale or was not sent by this page: reload and try again",
		);
	}
}

/**
 * The signed-in caller, or none: a GET without a valid session is sent to sign in (with where it
 * was going), anything else is refused. A POST must also carry the session's CSRF token.
 */
export function requireSession(): MiddlewareHandler<DashboardEnv> {
	return async (c, next) => {
		const config = sessionConfig(c.env);
		const value = readCookie(c);
		const session = value === undefined ? null : await readSession(config, value, clock.now());
		if (!session) {
			clearSessionCookie(c);
			if (c.req.method === "GET" || c.req.method === "HEAD") {
				const url = new URL(c.req.url);
				const back = url.pathname === BASE ? "" : `?next=${encodeURIComponent(url.pathname + url.search)}`;
				return c.redirect(`${SIGN_IN_PATH}${back}`, 303);
			}
			throw new SessionEndedError();
		}
		if (c.req.method === "POST") {
			const form = await c.req.parseBody();
			if (!(await csrfMatches(session, form.csrf))) throw new CsrfError();
		}
		c.set("session", session);
		c.set("owner", session.owner);
		await next();
	};
}

/** Where to go after signing in: a dashboard path only, never another site or a scheme-relative URL. */
export function safeNext(next: unknown): string {
	if (typeof next !== "string" || next.length > 1000) return BASE;
	return /^\/dashboard(\/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$/.test(
		next,
	) && !next.includes("//")
		? next
		: BASE;
}
