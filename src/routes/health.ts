// /healthz: no auth. Says which required secrets are missing and which variables are invalid,
// by name only, so an operator sees what to fix without any value being exposed.

import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { version } from "../../package.json";
import { HealthSchema } from "../api/resources";
import { loadConfig } from "../core/config";
import type { AppEnv } from "../http/app-env";

export const health = new OpenAPIHono<AppEnv>();

health.openapi(
	createRoute({
		method: "get",
		operationId: "getHealth",
		path: "/healthz",
		summary: "Health and configuration check",
		responses: {
			200: { description: "Ready", content: { "application/json": { schema: HealthSchema } } },
			503: {
				description: "Some configuration is missing or invalid",
				content: { "application/json": { schema: HealthSchema } },
			},
		},
	}),
	(c) => {
		const config = loadConfig(c.env);
		const ok = config.missing.length === 0 && config.invalid.length === 0;
		c.header("cache-control", "no-store");
		return c.json(
			{ ok, version, missing_config: config.missing, invalid_config: config.invalid },
			ok ? 200 : 503,
		);
	},
);
