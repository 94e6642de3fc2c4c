// The asset object's SQLite schema as an ordered list of migrations. Applied ones are recorded
// (src/core/sql.ts) and never edited: a change to the schema is a new entry at the end, and
// BASELINE (what a fresh object runs instead of the list) is updated to match it in the same
// change (test/watcher/migrations.test.ts compares the two). docs/storage.md describes every column.
//
// The schema is shaped by what Cloudflare bills: every row written, an index entry as one more,
// and a table's creation as two. So an asset is one table and no secondary index: one row for the
// asset and one per watch (an asset has few watches, scanned in memory); a watch's delivery and
// its recent attempts live in its own row (one write per attempt); and the table is WITHOUT ROWID
// (a text key with no hidden index beside it).

import { migrate as applyMigrations, type Migration, tableExists } from "../core/sql";

/**
 * The watches table of 0003 onwards: a watch, its delivery and its latest attempts in one row;
 * `extra` are the columns later migrations added (at the end, where ALTER TABLE puts them).
 */
function WATCHES_TABLE(name: string, extra: readonly string[] = []): string {
	return `CREATE TABLE ${name} (
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
	finished_at INTEGER,
	webhook_id TEXT,
	event_type TEXT,
	body TEXT,
	attempts INTEGER NOT NULL DEFAULT 0,
	round_attempts INTEGER NOT NULL DEFAULT 0,
	generation INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,
	last_status INTEGER,
	last_error TEXT,
	last_attempt_at INTEGER,
	delivered_at INTEGER,
	recent_attempts TEXT${extra.map((c) => `,\n\t${c}`).join("")}
) WITHOUT ROWID;`;
}

/**
 * 0004 adds to each watch: the client whose secrets sign it (CLIENT_WEBHOOK_SECRETS; null for a
 * bare token), and since when its delivery waits for its receiver origin to come back.
 */
const RECOVERY_COLUMNS = ["client TEXT", "held_since INTEGER"];

/**
 * The columns of `records` as 0006 made them, with their types: the asset's (null on watch rows),
 * and a watch's with its delivery's and its attempts' (null on the asset's row). The two share
 * `created_at`, `updated_at` (each row's own) and `last_error` (the asset's last check error, a
 * watch's last attempt's). These are 0006's and stay as they are: a later column is added by a new
 * migration, to BASELINE and to the reads below, not here.
 */
const ASSET_COLUMNS_0006 = {
	asset_id: "TEXT",
	status: "TEXT",
	name: "TEXT",
	asset_type: "TEXT",
	create_time: "TEXT",
	update_time: "TEXT",
	upstream_data: "TEXT",
	upstream_message: "TEXT",
	checked_at: "INTEGER",
	next_check_at: "INTEGER",
	checks: "INTEGER",
	last_error: "TEXT",
	last_error_at: "INTEGER",
	not_found_count: "INTEGER",
	not_found_since: "INTEGER",
	terminal_at: "INTEGER",
	expired_reason: "TEXT",
	last_forced_check_at: "INTEGER",
	created_at: "INTEGER NOT NULL",
	updated_at: "INTEGER NOT NULL",
	index_pending: "INTEGER",
	plan: "TEXT",
} as const;
const WATCH_COLUMNS_0006 = {
	id: "TEXT PRIMARY KEY",
	owner: "TEXT",
	callback_url: "TEXT",
	events: "TEXT",
	metadata: "TEXT",
	callback_headers: "TEXT",
	state: "TEXT",
	created_at: "INTEGER NOT NULL",
	updated_at: "INTEGER NOT NULL",
	expires_at: "INTEGER",
	finished_at: "INTEGER",
	webhook_id: "TEXT",
	event_type: "TEXT",
	body: "TEXT",
	attempts: "INTEGER",
	round_attempts: "INTEGER",
	generation: "INTEGER",
	next_attempt_at: "INTEGER",
	last_status: "INTEGER",
	last_error: "TEXT",
	last_attempt_at: "INTEGER",
	delivered_at: "INTEGER",
	recent_attempts: "TEXT",
	client: "TEXT",
	held_since: "INTEGER",
} as const;

/** The asset's columns that the store reads (rows.ts `AssetRow`). */
export const ASSET_COLUMNS: readonly string[] = Object.keys(ASSET_COLUMNS_0006);
/** A watch's columns that the store reads (rows.ts `WatchRow`). */
export const WATCH_COLUMNS: readonly string[] = Object.keys(WATCH_COLUMNS_0006);

/** The key, then a watch's other columns (those the asset's row shares come with the asset's). */
const { id: KEY_COLUMN, ...WATCH_ROW_COLUMNS_0006 } = WATCH_COLUMNS_0006;

/**
 * 0006 on: the asset and its watches in one table, `records` (the key first, then the asset's
 * columns, then a watch's). The asset's row has the key '' and its columns; a watch's row has the
 * watch's id and its columns. Each kind's required columns are checked.
 */
const RECORDS_TABLE = `CREATE TABLE records (
${Object.entries({ id: KEY_COLUMN, ...ASSET_COLUMNS_0006, ...WATCH_ROW_COLUMNS_0006 })
	.map(([name, type]) => `\t${name} ${type},`)
	.join("\n")}
	CHECK (id != '' OR (asset_id IS NOT NULL AND status IS NOT NULL AND checks IS NOT NULL
		AND not_found_count IS NOT NULL AND index_pending IS NOT NULL AND owner IS NULL)),
	CHECK (id = '' OR (owner IS NOT NULL AND callback_url IS NOT NULL AND events IS NOT NULL
		AND metadata IS NOT NULL AND callback_headers IS NOT NULL AND state IS NOT NULL
		AND expires_at IS NOT NULL AND attempts IS NOT NULL AND round_attempts IS NOT NULL
		AND generation IS NOT NULL AND asset_id IS NULL))
) WITHOUT ROWID;`;

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
	{
		// Storage for what it costs: the delivery and its last attempts move into the watch row, the
		// index bookkeeping into memory (src/watcher/index-sync.ts) with one durable flag, and the
		// triggers (two extra rows on every watch change) go.
		name: "0003_compact",
		sql: `
${WATCHES_TABLE("watches_v3")}
INSERT INTO watches_v3 (id, owner, callback_url, events, metadata, callback_headers, state, created_at, updated_at,
	expires_at, finished_at, webhook_id, event_type, body, attempts, round_attempts, generation, next_attempt_at,
	last_status, last_error, last_attempt_at, delivered_at, recent_attempts)
SELECT w.id, w.owner, w.callback_url, w.events, w.metadata, w.callback_headers, w.state, w.created_at, w.updated_at,
	w.expires_at, w.finished_at, d.webhook_id, d.event_type, d.body, COALESCE(d.attempts, 0), COALESCE(d.round_attempts, 0),
	COALESCE(d.generation, 0), d.next_attempt_at, d.last_status, d.last_error, d.last_attempt_at, d.delivered_at,
	(SELECT json_group_array(json_object('attempt', a.attempt, 'at', a.at, 'status', a.status, 'error', a.error, 'duration_ms', a.duration_ms))
	 FROM (SELECT * FROM attempts WHERE watch_id = w.id ORDER BY id DESC LIMIT 10) a)
FROM watches w LEFT JOIN deliveries d ON d.watch_id = w.id;
DROP TRIGGER watches_index_insert;
DROP TRIGGER watches_index_update;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE watches;
DROP TABLE index_sync;
ALTER TABLE watches_v3 RENAME TO watches;
ALTER TABLE asset ADD COLUMN index_pending INTEGER NOT NULL DEFAULT 1;
`,
	},
	{
		name: "0004_recovery",
		sql: RECOVERY_COLUMNS.map((c) => `ALTER TABLE watches ADD COLUMN ${c};`).join("\n"),
	},
	{
		// The poll engine (src/polling/progress.ts): the asset keeps its check plan; which check it
		// is at follows from the plan and its alarm, so poll_step is no longer read or written (it
		// stays: dropping a column rewrites the table, about a dozen rows per object). An object
		// that was polling gets a plan at its next check, from that check on.
		name: "0005_engine",
		sql: `
ALTER TABLE asset ADD COLUMN plan TEXT;
`,
	},
	{
		// One table instead of two: a table's creation writes two rows on every asset object. The
		// asset's row takes the key ''; poll_step (retired in 0005) is left behind.
		name: "0006_records",
		sql: `
${RECORDS_TABLE}
INSERT INTO records (id, ${Object.keys(ASSET_COLUMNS_0006).join(", ")})
SELECT '', ${Object.keys(ASSET_COLUMNS_0006).join(", ")} FROM asset;
INSERT INTO records (${Object.keys(WATCH_COLUMNS_0006).join(", ")})
SELECT ${Object.keys(WATCH_COLUMNS_0006).join(", ")} FROM watches;
DROP TABLE asset;
DROP TABLE watches;
`,
	},
];

/** The asset's row (key ''), and the watches' rows (every other key: a range of the key, so the asset's row is not read), as rows.ts types them. */
export const ASSET = `SELECT ${ASSET_COLUMNS.join(", ")} FROM records WHERE id = ''`;
export const WATCHES = `SELECT ${WATCH_COLUMNS.join(", ")} FROM records WHERE id > ''`;

/** The schema all of MIGRATIONS add up to, in one step, for an object that has none yet. */
export const BASELINE = `
${RECORDS_TABLE}
`;

/** Brings this asset object's schema up to date. */
export function migrate(storage: DurableObjectStorage): void {
	applyMigrations(storage, { migrations: MIGRATIONS, baseline: BASELINE });
}

/** True when this object has ever been written (an unwatched lookup leaves storage empty). */
export function hasSchema(storage: DurableObjectStorage): boolean {
	return tableExists(storage.sql, "records") || tableExists(storage.sql, "asset");
}
