// The asset object's SQLite schema as an ordered list of migrations. Applied ones are recorded
// in `_migrations` and never edited: a change to the schema is a new entry at the end.
// docs/storage.md describes every table and column.

import { migrate as applyMigrations, type Migration } from "../core/sql";

export const MIGRATIONS: readonly Migration[] = [
	{
		name: "0001_initial",
		sql: `
CREATE TABLE asset (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	asset_id TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'Unknown',
	name TEXT,
	asset_type TEXT,
	create_time TEXT,
	update_time TEXT,
	upstream_data TEXT,
	upstream_message TEXT,
	checked_at INTEGER,
	next_check_at INTEGER,
	checks INTEGER NOT NULL DEFAULT 0,
	last_error TEXT,
	last_error_at INTEGER,
	poll_step INTEGER NOT NULL DEFAULT 0,
	not_found_count INTEGER NOT NULL DEFAULT 0,
	not_found_since INTEGER,
	terminal_at INTEGER,
	expired_reason TEXT,
	last_forced_check_at INTEGER,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE TABLE watches (
	id TEXT PRIMARY KEY,
	owner TEXT NOT NULL,
	callback_url TEXT NOT NULL,
	events TEXT NOT NULL,
	metadata TEXT NOT NULL,
	callback_headers TEXT NOT NULL,
	state TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	finished_at INTEGER
);
CREATE INDEX watches_by_owner_url ON watches (owner, callback_url);
CREATE INDEX watches_by_state ON watches (state, expires_at);
CREATE TABLE deliveries (
	watch_id TEXT PRIMARY KEY,
	webhook_id TEXT NOT NULL,
	event_type TEXT NOT NULL,
	body TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	round_attempts INTEGER NOT NULL DEFAULT 0,
	generation INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,
	last_status INTEGER,
	last_error TEXT,
	last_attempt_at INTEGER,
	created_at INTEGER NOT NULL,
	delivered_at INTEGER
);
CREATE INDEX deliveries_by_next ON deliveries (next_attempt_at);
CREATE TABLE attempts (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	watch_id TEXT NOT NULL,
	attempt INTEGER NOT NULL,
	at INTEGER NOT NULL,
	status INTEGER,
	error TEXT,
	duration_ms INTEGER
);
CREATE INDEX attempts_by_watch ON attempts (watch_id, id);
`,
	},
	{
		// What the asset last published to its index shard (src/watcher/index-sync.ts). The triggers
		// stamp every inserted watch and every state change with a fresh change_seq, whichever code
		// path makes it, so the next push carries exactly the watches changed since the last ack.
		name: "0002_index_sync",
		sql: `
CREATE TABLE index_sync (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	change_seq INTEGER NOT NULL DEFAULT 0,
	acked_seq INTEGER NOT NULL DEFAULT 0,
	version INTEGER NOT NULL DEFAULT 0,
	pending INTEGER NOT NULL DEFAULT 0,
	status TEXT,
	due_at INTEGER,
	finished_at INTEGER
);
ALTER TABLE watches ADD COLUMN index_seq INTEGER NOT NULL DEFAULT 0;
INSERT INTO index_sync (id, change_seq) VALUES (1, 1);
UPDATE watches SET index_seq = 1;
CREATE TRIGGER watches_index_insert AFTER INSERT ON watches BEGIN
	UPDATE index_sync SET change_seq = change_seq + 1 WHERE id = 1;
	UPDATE watches SET index_seq = (SELECT change_seq FROM index_sync WHERE id = 1) WHERE id = NEW.id;
END;
CREATE TRIGGER watches_index_update AFTER UPDATE OF state, updated_at, expires_at ON watches BEGIN
	UPDATE index_sync SET change_seq = change_seq + 1 WHERE id = 1;
	UPDATE watches SET index_seq = (SELECT change_seq FROM index_sync WHERE id = 1) WHERE id = NEW.id;
END;
`,
	},
];

/** Brings this asset object's schema up to date. */
export function migrate(storage: DurableObjectStorage): void {
	applyMigrations(storage, MIGRATIONS);
}

/** True when this object has ever been written (an unwatched lookup leaves storage empty). */
export function hasSchema(storage: DurableObjectStorage): boolean {
	return (
		storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray()
			.length > 0
	);
}
