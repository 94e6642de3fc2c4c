// SQLite helpers for the Durable Objects: ordered migrations (each applied one is recorded in
// `_migrations` and never edited; a schema change is a new entry at the end of its list), and the
// first row of a query or null.
//
// A fresh object does not replay history: it runs the schema's `baseline` (the whole current
// schema in one step, kept equal to what the list builds — a test checks it) and records only the
// last migration's name. Migrations are strictly ordered, so "recorded" means "this one and every
// one before it": an object upgraded step by step and a fresh one read the same way.

export interface Migration {
	name: string;
	sql: string;
}

export interface Schema {
	migrations: readonly Migration[];
	/** the schema every migration above adds up to, for a fresh object (null: replay the list) */
	baseline: string | null;
}

/** Brings the schema up to date: the baseline on a fresh object, else the migrations not yet applied. */
export function migrate(storage: DurableObjectStorage, schema: Schema): void {
	const sql = storage.sql;
	const fresh =
		firstRow(sql.exec("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = '_migrations'")) ===
		null;
	const last = schema.migrations[schema.migrations.length - 1];
	if (fresh && schema.baseline !== null && last) {
		storage.transactionSync(() => {
			sql.exec("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID");
			// One statement per exec: a cursor counts the rows of its last statement only, and these
			// rows are billed like any others (test/support/meter.ts reads the cursors).
			for (const statement of statements(schema.baseline as string)) sql.exec(statement);
			sql.exec("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", last.name, Date.now());
		});
		return;
	}
	if (fresh)
		sql.exec("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID");
	const recorded = new Set(
		sql
			.exec<{ name: string }>("SELECT name FROM _migrations")
			.toArray()
			.map((r) => r.name),
	);
	// Everything up to the latest recorded migration is applied.
	let from = 0;
	schema.migrations.forEach((m, i) => {
		if (recorded.has(m.name)) from = i + 1;
	});
	for (const m of schema.migrations.slice(from)) {
		storage.transactionSync(() => {
			sql.exec(m.sql);
			sql.exec("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", m.name, Date.now());
		});
	}
}

/**
 * The statements of a baseline, split at the semicolons that end a line. Baselines are plain
 * CREATE statements (no trigger bodies, no semicolons inside strings), which a test checks.
 */
export function statements(sql: string): string[] {
	return sql
		.split(/;\s*\n/)
		.map((s) => s.trim())
		.filter((s) => s.length > 0);
}

/** The first row a query yields, or null; reads no further than that row. */
export function firstRow<T extends Record<string, SqlStorageValue>>(cursor: SqlStorageCursor<T>): T | null {
	for (const row of cursor) return row;
	return null;
}
