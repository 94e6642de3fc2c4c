// GET /v1/stats: the calling token's counts, read from the index shards: its watches by state,
// the assets it watches by upstream status, and its most overdue asset. Scoped to the token like
// every other /v1 read, so one client learns nothing about another's assets. Beside them, the
// upstream's side, which is the deployment's and names no asset: the budget (its rate, waiting
// checks, errors by code over the last hour) and the poll model per AssetType.

import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { commonErrors, errorResponse } from "../api/errors";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { errorText, logEvent } from "../core/log";
import { ASSET_STATUSES, publicStatus, WATCH_STATES } from "../core/states";
import type { AppEnv } from "../http/app-env";
import { pollModel } from "../poll-model/poll-model";
import { upstreamBudget } from "../upstream-budget/upstream-budget";
import { tokenStats } from "../watch-index/reads";

export const stats = new OpenAPIHono<AppEnv>();

const count = z.number().int().min(0);
const ms = z.number().int().min(0).nullable();

const UpstreamSchema = z
	.object({
		scope: z.literal("deployment").openapi({
			description:
				"Unlike the counts above, this is the whole deployment's (every token's assets together); it names no asset",
		}),
		budget: z
			.object({
				max_rps: z.number().openapi({ description: "UPSTREAM_MAX_RPS" }),
				rate_rps: z.number().openapi({
					description:
						"The rate asset-info calls are paced at now: halved by each 429 or 455, climbing back gradually",
				}),
				mode: z.enum(["open", "metered"]).openapi({
					description:
						"`open` while the deployment is well under the rate (assets check on their plans without asking), else `metered` (each call asks for a slot)",
				}),
				waiting: count.openapi({ description: "Checks holding a slot further than a second ahead" }),
				open_leases: count,
				committed_rps: z.number().openapi({ description: "What the open leases' plans call per second" }),
				last_halved_at: z.string().nullable(),
				errors_last_hour: z.record(z.string(), count).openapi({
					description: "Upstream errors by code (or `timeout`, `network`, `bad_body`) over the last hour",
				}),
			})
			.nullable()
			.openapi({ description: "null when UPSTREAM_MAX_RPS is 0, or the budget did not answer" }),
		model: z
			.array(
				z.object({
					type: z.string().openapi({ description: "The upstream's AssetType (`unknown` when it sent none)" }),
					samples: count.openapi({ description: "Finished assets in the model's window (at most 200)" }),
					p10_ms: ms,
					p50_ms: ms,
					p90_ms: ms,
				}),
			)
			.openapi({
				description:
					"The processing-time model per AssetType, as it is now (new plans read it at most a minute late); a type with fewer than 20 samples plans with the backoff",
			}),
		model_problems: z.array(z.object({ type: z.string(), problem: z.string() })).openapi({
			description: "Stored models that could not be read (each counts as empty until it learns again)",
		}),
	})
	.openapi("UpstreamStats");

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
		upstream: UpstreamSchema,
		as_of: z.string(),
	})
	.openapi("Stats");

/** The upstream's side of the stats, the deployment's; what does not answer is shown as unknown, never an error. */
export async function upstreamStats(env: Env): Promise<z.output<typeof UpstreamSchema>> {
	const budget =
		loadConfig(env).UPSTREAM_MAX_RPS > 0
			? await upstreamBudget(env)
					.state()
					.catch((err: unknown) => {
						logEvent("warn", "upstream budget did not answer", { error: errorText(err) });
						return null;
					})
			: null;
	// Read fresh (one call): the asset objects' plans use a copy at most a minute old.
	const model = await pollModel(env)
		.snapshots()
		.catch((err: unknown) => {
			logEvent("warn", "poll model did not answer", { error: errorText(err) });
			return null;
		});
	return {
		scope: "deployment",
		budget: budget && {
			...budget,
			last_halved_at: budget.last_halved_at === null ? null : new Date(budget.last_halved_at).toISOString(),
		},
		model: (model?.types ?? []).map((t) => ({
			type: t.type,
			samples: t.samples,
			p10_ms: t.p10,
			p50_ms: t.p50,
			p90_ms: t.p90,
		})),
		model_problems: model ? model.problems : [{ type: "*", problem: "the model could not be read" }],
	};
}

/** The owner's counts at `now`, in the shape `GET /v1/stats` answers; shared with the dashboard. */
export async function statsFor(env: Env, owner: string, now: number): Promise<z.output<typeof StatsSchema>> {
	const [s, upstream] = await Promise.all([tokenStats(env, owner, now), upstreamStats(env)]);
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
		upstream,
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
			"The calling token's watches by state, the assets it watches by upstream status, and the most overdue check among them. Read from the service's index, which follows the assets within moments; watches of purged assets are not counted. `upstream` is the deployment's, not the token's: the shared upstream budget (rate, waiting checks, errors by code over the last hour) and the processing-time model per AssetType.",
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
