// UpstreamBudget: one Durable Object for the whole deployment (`UPSTREAM_BUDGET.getByName("global")`)
// that holds the one budget of asset-info calls per second (UPSTREAM_MAX_RPS) every asset object,
// forced refresh and unwatched lookup draws on (policy.ts). Its state is soft and lives in memory
// only: it writes no rows. A restarted budget starts at the full rate, metered (it cannot know the
// open leases its predecessor granted until they have run out), with nobody waiting: callers that
// were told to wait ask again at their time, with the time their call fell due, and are served
// in that order.

import { DurableObject } from "cloudflare:workers";
import { clock } from "../core/clock";
import { loadConfig } from "../core/config";
import { type AcquireRequest, Budget, type BudgetState, type Grant } from "./policy";

export class UpstreamBudget extends DurableObject<Env> {
	private budget: Budget | null = null;

	private get current(): Budget {
		this.budget ??= new Budget(loadConfig(this.env).UPSTREAM_MAX_RPS, clock.now());
		return this.budget;
	}

	/** A permit for one asset-info call (or an open lease of them), or when to ask again. */
	async acquire(request: AcquireRequest): Promise<Grant> {
		return this.current.acquire(request, clock.now());
	}

	/** An error the upstream answered a call made at `calledAt` with; 429 and 455 halve the rate. */
	async report(r: { ticket: string; code: string; calledAt: number }): Promise<{ metered: boolean }> {
		return this.current.report(r, clock.now());
	}

	/** The budget as `GET /v1/stats` and the dashboard show it. */
	async state(): Promise<BudgetState> {
		return this.current.state(clock.now());
	}
}

/** The budget's RPC surface, typed as the class declares it. */
export type UpstreamBudgetRpc = Pick<UpstreamBudget, "acquire" | "report" | "state">;

export function upstreamBudget(env: Env): UpstreamBudgetRpc {
	return env.UPSTREAM_BUDGET.getByName("global") as unknown as UpstreamBudgetRpc;
}
