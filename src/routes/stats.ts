// GET /v1/stats: the calling token's counts, read from the index shards: its watches by state,
// the assets it watches by upstream status, and its most overdue asset. Scoped to the token like
// every other /v1 read, so one client learns nothing about another's assets.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { clock } from "../clock";
import { loadConfig } from "../config";
import { commonErrors, errorResponse } from "../schemas";
import { tokenStats } from "../sweep/index-reads";
import { WATCH_STATES } from "../watcher/model";

export const stats = new OpenAPIHono<AppEnv>();

const ASSET_STATUSES = ["Processing", "Active", "Failed", "Unknown"] as const;
const count = z.number().int().min(0);

const StatsSchema = z
	.object({
		scope: z.literal("token").openapi({ description: "Counts cover the calling token's watches only" }),
		watches: z.object({ total: count, by_state: z.record(z.enum(WATCH_STATES), count) }),
		assets: z.object({
			total: count,
			by_status: z
				.record(z.enum(ASSET_STATUSES), count)
				.openapi({ description: "Assets this token watches, by upstream status" }),
		}),
		most_overdue: z
			.object({
				asset_id: z.string(),
				due_at: z.string().openapi({
					description:
						"When the asset was due to run again (its next check or delivery, plus at most 5 minutes of heartbeat slack)",
				}),
				overdue_ms: z.number().int(),
			})
			.nullable()
			.openapi({
				description:
					"The asset furthest past its due time; null when none is. The cron sweep re-arms assets overdue by more than 2 minutes.",
			}),
		index_shards: count,
		as_of: z.string(),
	})
	.openapi("Stats");

stats.openapi(
	createRoute({
		method: "get",
		operationId: "getStats",
		path: "/",
		summary: "Counts for your watches",
		description:
			"The calling token's watches by state, the assets it watches by upstream status, and the most overdue check among them. Read from the service's index, which follows the assets within moments; watches of purged assets are not counted.",
		request: { query: z.strictObject({}) },
		responses: {
			200: { description: "The counts", content: { "application/json": { schema: StatsSchema } } },
			...commonErrors,
			503: errorResponse(
				"A required secret is not configured, or the index did not answer (`index_unavailable`)",
			),
		},
	}),
	async (c) => {
		const now = clock.now();
		const s = await tokenStats(c.env, c.get("owner"), now);
		const byState = Object.fromEntries(WATCH_STATES.map((k) => [k, s.by_state[k] ?? 0])) as Record<
			(typeof WATCH_STATES)[number],
			number
		>;
		const byStatus = Object.fromEntries(ASSET_STATUSES.map((k) => [k, 0])) as Record<
			(typeof ASSET_STATUSES)[number],
			number
		>;
		for (const [k, n] of Object.entries(s.by_status)) {
			const key = (ASSET_STATUSES as readonly string[]).includes(k)
				? (k as (typeof ASSET_STATUSES)[number])
				: "Unknown";
			byStatus[key] += n;
		}
		return c.json(
			{
				scope: "token" as const,
				watches: { total: s.watches, by_state: byState },
				assets: { total: s.assets, by_status: byStatus },
				most_overdue: s.most_overdue
					? {
							asset_id: s.most_overdue.asset_id,
							due_at: new Date(s.most_overdue.due_at).toISOString(),
							overdue_ms: now - s.most_overdue.due_at,
						}
					: null,
				index_shards: loadConfig(c.env).INDEX_SHARDS,
				as_of: new Date(now).toISOString(),
			},
			200,
		);
	},
);
