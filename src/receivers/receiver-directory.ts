// ReceiverDirectory: one Durable Object per owner (named by the owner hash), listing the receiver
// origins that owner's deliveries went to, so `GET /v1/receivers` knows which ReceiverOrigin
// objects to read without scanning anything. An origin object adds itself once, when it is
// created; nothing here changes per attempt (the state itself stays in the origin objects).

import { DurableObject } from "cloudflare:workers";
import { clock } from "../core/clock";
import { migrate } from "../core/sql";

const MIGRATIONS = [
	{
		name: "0001_origins",
		sql: "CREATE TABLE origins (origin TEXT PRIMARY KEY, added_at INTEGER NOT NULL) WITHOUT ROWID",
	},
];

export class ReceiverDirectory extends DurableObject<Env> {
	constructor(ctx: DurableObjectState, env: Env) {
		super(ctx, env);
		ctx.blockConcurrencyWhile(async () => migrate(ctx.storage, { migrations: MIGRATIONS, baseline: null }));
	}

	/** Adds an origin (idempotent: one row, written once). */
	async add(origin: string): Promise<void> {
		this.ctx.storage.sql.exec(
			"INSERT OR IGNORE INTO origins (origin, added_at) VALUES (?, ?)",
			origin,
			clock.now(),
		);
	}

	/** The owner's origins in order after `after`, at most `limit`. */
	async list(after: string | null, limit: number): Promise<string[]> {
		return this.ctx.storage.sql
			.exec<{ origin: string }>(
				"SELECT origin FROM origins WHERE origin > ? ORDER BY origin LIMIT ?",
				after ?? "",
				limit,
			)
			.toArray()
			.map((r) => r.origin);
	}
}

/** The directory's RPC surface, typed as the class declares it. */
export type ReceiverDirectoryRpc = Pick<ReceiverDirectory, "add" | "list">;

export function receiverDirectory(env: Env, owner: string): ReceiverDirectoryRpc {
	return env.RECEIVER_DIRECTORY.getByName(owner) as unknown as ReceiverDirectoryRpc;
}
