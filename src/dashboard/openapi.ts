// The dashboard's entry in /openapi.json: `GET /dashboard` as an HTML page, so a reader of the API
// reference learns it exists and how it is signed into. Its other routes are the page's own form
// targets (sign-in, buttons), not an API for clients, and are left out of the document.

import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { BASE } from "./guards";

export function registerDashboard(registry: OpenAPIHono["openAPIRegistry"]): void {
	registry.registerPath({
		method: "get",
		path: BASE,
		operationId: "dashboard",
		summary: "The operator's page",
		description:
			"Server-rendered HTML for people, not programs: watches by state and assets by status, the watch list with filters, each watch with its delivery attempts, and buttons to redeliver or cancel. Sign in on the page with an API token (no Authorization header): the answer is a session cookie (HttpOnly, Secure, SameSite=Strict, signed, 12 h) that holds no token and shows that token's watches only.",
		tags: ["Dashboard"],
		responses: {
			200: {
				description: "The overview (signed in)",
				content: {
					"text/html": {
						schema: z.string(),
						example: '<!doctype html><html lang="en"><head><title>Overview · seedance-asset-watcher</title>…',
					},
				},
			},
			303: { description: "Not signed in (or the session ended): to `/dashboard/sign-in`" },
		},
	});
}
