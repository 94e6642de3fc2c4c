// 405 for a known path asked with a method it does not serve (PUT /v1/watches), with the `Allow`
// header and the methods in the error envelope, instead of the 404 a path that does not exist
// gets. The table is read once from the app's own routes, so it cannot drift from them; it runs
// after auth, so it tells nothing about the API to a caller without a token that /openapi.json
// does not tell already. A request the router already matched to a handler of its own method is
// served, and passes without the table.

import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { MethodNotAllowedError } from "../core/errors";
import type { AppEnv } from "./app-env";

type Route = { method: string; path: string };
type PathMethods = { pattern: RegExp; methods: Set<string> };

/** Hono's path syntax (`:param` for one segment, `*` for the rest) as an anchored expression. */
function patternOf(path: string): RegExp {
	const source = path
		.split(/(:[A-Za-z0-9_]+|\*)/)
		.map((part) => {
			if (part === "*") return ".*";
			if (part.startsWith(":")) return "[^/]+";
			return part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
		})
		.join("");
	return new RegExp(`^${source}$`);
}

/** Every handled path with the methods it answers; middleware (method ALL) is not a route. */
export function methodTable(routes: readonly Route[]): PathMethods[] {
	const byPath = new Map<string, Set<string>>();
	for (const r of routes) {
		if (r.method === "ALL") continue;
		const methods = byPath.get(r.path) ?? new Set<string>();
		methods.add(r.method.toUpperCase());
		// Hono answers HEAD with the GET handler.
		if (r.method.toUpperCase() === "GET") methods.add("HEAD");
		byPath.set(r.path, methods);
	}
	return [...byPath].map(([path, methods]) => ({ pattern: patternOf(path), methods }));
}

/** The methods `path` is served with, sorted; empty when no route has that path. */
export function allowedMethods(table: readonly PathMethods[], path: string): string[] {
	const allowed = new Set<string>();
	for (const { pattern, methods } of table) if (pattern.test(path)) for (const m of methods) allowed.add(m);
	return [...allowed].sort();
}

export function rejectUnservedMethods(routes: () => readonly Route[]): MiddlewareHandler<AppEnv> {
	let table: PathMethods[] | null = null;
	return async (c, next) => {
		// Middleware is registered for ALL; a route with a method is a handler of this request's
		// method (HEAD is matched as GET), so the table below could only allow it.
		if (matchedRoutes(c).some((r) => r.method !== "ALL")) return next();
		// Built at the first request, when every sub-app has been mounted.
		table ??= methodTable(routes());
		const allowed = allowedMethods(table, c.req.path);
		if (allowed.length > 0 && !allowed.includes(c.req.method.toUpperCase()))
			throw new MethodNotAllowedError(c.req.method, c.req.path, allowed);
		await next();
	};
}
