// SQLite helpers for the Durable Objects: ordered migrations (each applied one is recorded in
// `_migrations` and never edited; a schema change is a new entry at the end of its list), and the
// first row of a query or null.

export interface Migration {
	name: string;
	sql: string;
}

/** Applies the migrations of `list` not yet recorded, in order, each in its own transaction. */
export function migrate(storage: DurableObjectStorage, list: readonly Migration[]): void {
	const sql = storage.sql;
	sql.exec("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)");
	const applied = new Set(
		sql
			.exec<{ name: string }>("SELECT name FROM _migrations")
			.toArray()
			.map((r) => r.name),
	);
	for (const m of list) {
		if (applied.has(m.name)) continue;
		storage.transactionSync(() => {
			sql.exec(m.sql);
			sql.exec("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", m.name, Date.now());
		});
	}
}

/** The first row a query yields, or null; reads no further than that row. */
export function firstRow<T extends Record<string, SqlStorageValue>>(cursor: SqlStorageCursor<T>): T | null {
	for (const row of cursor) return row;
	return null;
}
