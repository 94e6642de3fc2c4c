// SQLite helpers for the Durable Objects: ordered migrations (each applied one is recorded in
// `_migrations` and never edited; a schema change is a new entry at the end of its list), and the
// first row of a query or null.
//
// A fresh object does not replay history: it runs the schema's `baseline` (the whole current
// schema in one step, kept equal to what the list builds — a test checks it), marked with the last
// migration's name in its first table's text; `_migrations` is created only when a later migration
// is applied. Migrations are strictly ordered, so "recorded" means "this one and every one before
// it": an object upgraded step by step and a fresh one read the same way.

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
	const last = schema.migrations[schema.migrations.length - 1];
	let logged = tableExists(sql, "_migrations");
	const recorded = new Set<string>();
	if (logged) {
		for (const r of sql.exec<{ name: string }>("SELECT name FROM _migrations")) recorded.add(r.name);
	} else {
		const marked = baselineMark(sql);
		if (marked !== null) recorded.add(marked);
		else if (schema.baseline !== null && last) {
			// A fresh object: the baseline, its name in the text of its first table (no log, no row).
			storage.transactionSync(() => {
				for (const statement of statements(markBaseline(schema.baseline as string, last.name)))
					sql.exec(statement);
			});
			return;
		}
	}
	// Everything up to the latest recorded migration is applied.
	let from = 0;
	schema.migrations.forEach((m, i) => {
		if (recorded.has(m.name)) from = i + 1;
	});
	for (const m of schema.migrations.slice(from)) {
		storage.transactionSync(() => {
			if (!logged) sql.exec(LOG_TABLE);
			logged = true;
			sql.exec(m.sql);
			sql.exec("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", m.name, Date.now());
		});
	}
}

const LOG_TABLE =
	"CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) WITHOUT ROWID";

/** Whether the object's database has the table `name`. */
export function tableExists(sql: SqlStorage, name: string): boolean {
	return (
		firstRow(sql.exec("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", name)) !== null
	);
}

/**
 * The baseline's first CREATE TABLE with its migration's name as a comment, which SQLite keeps in
 * the table's text in sqlite_master (ALTER TABLE edits around it): a fresh object's schema says
 * which migration it stands at without a `_migrations` table, whose creation and row would cost
 * three rows written on every asset object.
 */
function markBaseline(baseline: string, name: string): string {
	if (!/^[\w.-]+$/.test(name)) throw new Error(`migration name unfit for a baseline mark: ${name}`);
	return baseline.replace(/CREATE TABLE (\w+) \(/, `CREATE TABLE $1 /* baseline ${name} */ (`);
}

function baselineMark(sql: SqlStorage): string | null {
	const row = firstRow(
		sql.exec<{ sql: string }>(
			"SELECT sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%/* baseline %'",
		),
	);
	return row ? (/\/\* baseline ([\w.-]+) \*\//.exec(row.sql)?.[1] ?? null) : null;
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
