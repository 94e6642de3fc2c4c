// PollModel: one Durable Object for the whole deployment (`POLL_MODEL.getByName("global")`) that
// holds the processing-time model of every AssetType (src/polling/model.ts): one SQLite row per
// type, read whole once per instance and kept in memory, so snapshots cost no rows. A sample is
// written with its type's row (one row) at once when the row was last written more than
// FLUSH_MS ago, else with the FLUSH_SAMPLES-th: a busy type writes its row once per ten finished
// assets, a quiet one on every sample; a restart loses at most the unwritten ones (a model misses
// a few samples, nothing else). A corrupt row reads as an empty model (and says so in the
// snapshot); the next sample of its type replaces it.

import { DurableObject } from "cloudflare:workers";
import { clock } from "../core/clock";
import { migrate } from "../core/sql";
import {
	addSample,
	emptyModel,
	modelKey,
	parseModel,
	serializeModel,
	snapshot,
	type TypeModel,
	type TypeSnapshot,
} from "../polling/model";

/** Types kept at most: junk AssetType strings must not grow the table without end. */
export const MAX_TYPES = 32;
/** A type's row is rewritten at most once per this many samples, unless... */
export const FLUSH_SAMPLES = 10;
/** ...it was last written longer ago than this. */
export const FLUSH_MS = 60_000;

const MIGRATIONS = [
	{
		name: "0001_models",
		sql: "CREATE TABLE models (type TEXT PRIMARY KEY, model TEXT NOT NULL, updated_at INTEGER NOT NULL) WITHOUT ROWID",
	},
];

/** What the planners and the stats read: a snapshot per type, and the rows that could not be read. */
export type ModelSnapshots = { types: TypeSnapshot[]; problems: { type: string; problem: string }[] };

export class PollModel extends DurableObject<Env> {
	private models = new Map<string, TypeModel>();
	private problems = new Map<string, string>();
	private cached: ModelSnapshots | null = null;
	/** per type: samples not yet in its row, and when the row was last written */
	private unwritten = new Map<string, { samples: number; writtenAt: number }>();

	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => {
			migrate(ctx.storage, { migrations: MIGRATIONS, baseline: null });
			for (const row of ctx.storage.sql.exec<{ type: string; model: string }>(
				"SELECT type, model FROM models",
			)) {
				const { model, problem } = parseModel(row.model);
				this.models.set(row.type, model);
				if (problem) this.problems.set(row.type, problem);
			}
		});
	}

	/** One finished asset of `type` took `ms`. Samples of a type beyond MAX_TYPES are dropped. */
	async addSample(type: string, ms: number): Promise<void> {
		const key = modelKey(type);
		if (!this.models.has(key) && this.models.size >= MAX_TYPES) return;
		const before = this.models.get(key) ?? emptyModel();
		const after = addSample(before, ms);
		if (after === before) return;
		this.models.set(key, after);
		this.problems.delete(key);
		this.cached = null;
		const now = clock.now();
		const pending = this.unwritten.get(key) ?? { samples: 0, writtenAt: Number.NEGATIVE_INFINITY };
		pending.samples++;
		if (pending.samples < FLUSH_SAMPLES && now - pending.writtenAt < FLUSH_MS) {
			this.unwritten.set(key, pending);
			return;
		}
		this.ctx.storage.sql.exec(
			"INSERT OR REPLACE INTO models (type, model, updated_at) VALUES (?, ?, ?)",
			key,
			serializeModel(after),
			now,
		);
		this.unwritten.set(key, { samples: 0, writtenAt: now });
	}

	async snapshots(): Promise<ModelSnapshots> {
		this.cached ??= {
			types: [...this.models]
				.map(([type, m]) => snapshot(type, m))
				.sort((a, b) => a.type.localeCompare(b.type)),
			problems: [...this.problems].map(([type, problem]) => ({ type, problem })),
		};
		return this.cached;
	}
}

/** The model's RPC surface, typed as the class declares it. */
export type PollModelRpc = Pick<PollModel, "addSample" | "snapshots">;

export function pollModel(env: Env): PollModelRpc {
	return env.POLL_MODEL.getByName("global") as unknown as PollModelRpc;
}
