// GET /v1/stats: the calling token's counts, read from the index shards: its watches by state,
// the assets it watches by upstream status, and its most overdue asset. Scoped to the token like
// every other /v1 read, so one client learns nothing about another's assets.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { commonErrors, errorResponse } from "../api/errors";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { ASSET_STATUSES, publicStatus, WATCH_STATES } from "../core/states";
import type { AppEnv } from "../http/app-env";
import { tokenStats } from "../watch-index/reads";

export const stats = new OpenAPIHono<AppEnv>();

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
						"When the asset promised to have run again: its next check or delivery plus 30 to 60 min of slack (its index lease)",
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

/** The owner's counts at `now`, in the shape `GET /v1/stats` answers; shared with the dashboard. */
export async function statsFor(env: Env, owner: string, now: number): Promise<z.output<typeof StatsSchema>> {
	const s = await tokenStats(env, owner, now);
	const byState = Object.fromEntries(WATCH_STATES.map((k) => [k, s.by_state[k] ?? 0])) as Record<
		(typeof WATCH_STATES)[number],
		number
	>;
	const byStatus = Object.fromEntries(ASSET_STATUSES.map((k) => [k, 0])) as Record<
		(typeof ASSET_STATUSES)[number],
		number
	>;
	for (const [k, n] of Object.entries(s.by_status)) byStatus[publicStatus(k)] += n;
	return {
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
		index_shards: loadConfig(env).INDEX_SHARDS,
		as_of: new Date(now).toISOString(),
	};
}

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
	async (c) => c.json(await statsFor(c.env, c.get("owner"), clock.now()), 200),
);
