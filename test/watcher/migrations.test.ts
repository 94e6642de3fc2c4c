// The asset object's schema: a fresh object (the baseline, in one step) and an object upgraded
// migration by migration end with the same tables, columns and indexes; an object written under
// the first schema keeps every watch, delivery and attempt through the upgrade; and a fresh
// object's schema costs the few rows it should.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { migrate as applyMigrations, statements } from "../../src/core/sql";
import { BASELINE as INDEX_BASELINE, MIGRATIONS as INDEX_MIGRATIONS } from "../../src/watch-index/migrations";
import { BASELINE, MIGRATIONS } from "../../src/watcher/migrations";
import { AssetStore } from "../../src/watcher/store";
import { unique } from "../support/fakes";

type Shape = { name: string; type: string; columns: string[] }[];

/** Tables and indexes with their columns (name, type, not null, default, key), whatever the SQL text says. */
function shape(sql: SqlStorage): Shape {
	return sql
		.exec<{ name: string; type: string }>(
			"SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != '_migrations' ORDER BY name",
		)
		.toArray()
		.map(({ name, type }) => ({
			name,
			type,
			columns:
				type === "table"
					? sql
							.exec<Record<string, SqlStorageValue>>(
								`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info('${name}')`,
							)
							.toArray()
							.map((c) => JSON.stringify(c))
					: sql
							.exec<{ name: string }>(`SELECT name FROM pragma_index_info('${name}')`)
							.toArray()
							.map((c) => c.name),
		}));
}

async function inFreshObject<T>(run: (storage: DurableObjectStorage) => T): Promise<T> {
	// A WatchIndex stub with a name nobody uses: an empty SQLite database to try schemas in.
	const stub = env.WATCH_INDEX.getByName(unique("schema-lab"));
	return runInDurableObject(stub, (_o, state) => {
		const sql = state.storage.sql;
		for (const { name, type } of sql
			.exec<{ name: string; type: string }>(
				"SELECT name, type FROM sqlite_master WHERE type IN ('table','trigger') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
			)
			.toArray())
			sql.exec(`DROP ${type.toUpperCase()} IF EXISTS "${name}"`);
		return run(state.storage);
	});
}

describe.each([
	["the asset object", MIGRATIONS, BASELINE],
	["the index shards", INDEX_MIGRATIONS, INDEX_BASELINE],
])("%s's schema", (_name, migrations, baseline) => {
	it("is the same whether built from the baseline or migration by migration", async () => {
		const fromBaseline = await inFreshObject((storage) => {
			applyMigrations(storage, { migrations, baseline });
			return shape(storage.sql);
		});
		const stepByStep = await inFreshObject((storage) => {
			applyMigrations(storage, { migrations, baseline: null });
			return shape(storage.sql);
		});
		expect(fromBaseline.length).toBeGreaterThan(0);
		expect(fromBaseline).toEqual(stepByStep);
	});

	it("marks a fresh object with the last migration's name and no log; a later migration is applied once and logged", async () => {
		await inFreshObject((storage) => {
			const sql = storage.sql;
			applyMigrations(storage, { migrations, baseline });
			const logs = () =>
				sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray()
					.length;
			expect(logs()).toBe(0);
			const marked = () =>
				sql
					.exec<{ name: string; sql: string }>(
						"SELECT name, sql FROM sqlite_master WHERE sql LIKE '%/* baseline %'",
					)
					.toArray();
			const [first] = marked();
			expect(marked().map((m) => m.sql.match(/baseline ([\w.-]+)/)?.[1])).toEqual([
				migrations[migrations.length - 1]?.name,
			]);
			// Running it again applies nothing (a migration run twice would fail on its CREATE TABLE).
			applyMigrations(storage, { migrations, baseline });
			// A later migration that alters the marked table: applied once (a second ADD COLUMN would
			// fail), logged, and the mark is still in the table's text.
			const next = { name: "9999_next", sql: `ALTER TABLE ${first?.name} ADD COLUMN later_one TEXT` };
			applyMigrations(storage, { migrations: [...migrations, next], baseline });
			applyMigrations(storage, { migrations: [...migrations, next], baseline });
			expect(sql.exec<{ name: string }>("SELECT name FROM _migrations").toArray()).toEqual([
				{ name: "9999_next" },
			]);
			expect(marked().map((m) => m.name)).toEqual([first?.name]);
			expect(marked()[0]?.sql).toContain("later_one");
		});
	});
});

describe.each([
	["the asset object", BASELINE],
	["the index shards", INDEX_BASELINE],
])("%s's baseline", (_name, baseline) => {
	it("is plain CREATE statements, one per exec when applied (so each one's rows are counted)", () => {
		const parts = statements(baseline);
		expect(parts.length).toBe((baseline.match(/\bCREATE\b/g) ?? []).length);
		for (const p of parts) expect(p).toMatch(/^CREATE (TABLE|INDEX) /);
	});
});

describe("a fresh asset object's schema", () => {
	it("writes at most 2 rows: its one table, and no migrations log", async () => {
		const written = await inFreshObject((storage) => {
			let rows = 0;
			const sql = storage.sql;
			const exec = sql.exec.bind(sql);
			(sql as { exec: SqlStorage["exec"] }).exec = ((q: string, ...b: SqlStorageValue[]) => {
				const c = exec(q, ...b);
				c.toArray();
				rows += c.rowsWritten;
				return c;
			}) as SqlStorage["exec"];
			try {
				applyMigrations(storage, { migrations: MIGRATIONS, baseline: BASELINE });
			} finally {
				(sql as { exec: SqlStorage["exec"] }).exec = exec;
			}
			return rows;
		});
		expect(written).toBeLessThanOrEqual(2);
	});
});

describe("upgrading an asset object written under the first schema", () => {
	it("keeps every watch with its delivery and its latest attempts, newest first", async () => {
		const upgraded = await inFreshObject((storage) => {
			const sql = storage.sql;
			applyMigrations(storage, { migrations: MIGRATIONS.slice(0, 2), baseline: null });
			sql.exec(
				"INSERT INTO asset (id, asset_id, status, created_at, updated_at) VALUES (1, 'a-1', 'Active', 1, 2)",
			);
			for (const id of ["w-1", "w-2"])
				sql.exec(
					`INSERT INTO watches (id, owner, callback_url, events, metadata, callback_headers, state, created_at, updated_at, expires_at)
					 VALUES (?, 'o', 'https://r.example/x', '["asset.active"]', '{"k":1}', '{}', ?, 3, 4, 5)`,
					id,
					id === "w-1" ? "delivered" : "watching",
				);
			sql.exec(
				`INSERT INTO deliveries (watch_id, webhook_id, event_type, body, attempts, round_attempts, generation, next_attempt_at, last_status, created_at, delivered_at)
				 VALUES ('w-1', 'msg_1', 'asset.active', '{"type":"asset.active"}', 12, 2, 1, NULL, 204, 6, 7)`,
			);
			for (let n = 1; n <= 12; n++)
				sql.exec(
					"INSERT INTO attempts (watch_id, attempt, at, status, error, duration_ms) VALUES ('w-1', ?, ?, ?, NULL, 9)",
					n,
					100 + n,
					n === 12 ? 204 : 503,
				);
			applyMigrations(storage, { migrations: MIGRATIONS, baseline: BASELINE });
			// What the object reads of it afterwards.
			const store = new AssetStore(storage, () => {});
			store.ensureSchema();
			return {
				read: {
					asset: store.asset()?.status,
					watches: store.allWatches().map((w) => [w.id, w.state, w.attempts]),
					live: store.liveCount(),
				},
				watches: sql.exec("SELECT * FROM records WHERE id != '' ORDER BY id").toArray(),
				asset: sql.exec("SELECT asset_id, status, checks, index_pending FROM records WHERE id = ''").one(),
				tables: sql
					.exec(
						"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
					)
					.toArray(),
			};
		});
		const [w1, w2] = upgraded.watches as Record<string, SqlStorageValue>[];
		expect(w1).toMatchObject({
			id: "w-1",
			state: "delivered",
			metadata: '{"k":1}',
			webhook_id: "msg_1",
			event_type: "asset.active",
			body: '{"type":"asset.active"}',
			attempts: 12,
			round_attempts: 2,
			generation: 1,
			last_status: 204,
			delivered_at: 7,
		});
		const recent = JSON.parse(w1?.recent_attempts as string) as { attempt: number; status: number }[];
		expect(recent.map((a) => a.attempt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
		expect(recent[0]).toEqual({ attempt: 12, at: 112, status: 204, error: null, duration_ms: 9 });
		expect(w2).toMatchObject({ id: "w-2", state: "watching", webhook_id: null, attempts: 0 });
		// The index is told everything once: the upgraded asset pushes on its next run.
		expect(upgraded.asset).toEqual({ asset_id: "a-1", status: "Active", checks: 0, index_pending: 1 });
		// The asset and its watches end in one table (0006), the asset's row under the key ''.
		expect(upgraded.tables.map((t) => t.name)).toEqual(["_migrations", "records"]);
		expect(upgraded.read).toEqual({
			asset: "Active",
			watches: [
				["w-1", "delivered", 12],
				["w-2", "watching", 0],
			],
			live: 1,
		});
	});
});
