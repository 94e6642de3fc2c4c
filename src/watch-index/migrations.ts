// The index shards' SQLite schema (docs/storage-index.md): ordered migrations, never edited once
// applied, and the BASELINE a fresh shard runs instead (test/watch-index/migrations.test.ts checks
// that the two agree).
//
// Since 0002 the index is one table of watches, each row carrying its asset's summary (status,
// when the sweep should look at it), keyed for the listings: (owner, created_at, id). What the
// sweep needs is the one secondary index on sweep_at. A row is rewritten only when what it says
// changes, and each index entry written is billed as a row, so fewer indexes are fewer rows.

import type { Migration } from "../core/sql";

const WATCHES = (name: string) => `CREATE TABLE ${name} (
	owner TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	id TEXT NOT NULL,
	asset_id TEXT NOT NULL,
	state TEXT NOT NULL,
	asset_status TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	sweep_at INTEGER,
	finished INTEGER NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (owner, created_at, id)
) WITHOUT ROWID;`;

const SWEEP_INDEX = "CREATE INDEX watches_by_sweep ON watches (sweep_at) WHERE sweep_at IS NOT NULL;";

export const MIGRATIONS: readonly Migration[] = [
	{
		name: "0001_index",
		sql: `
CREATE TABLE assets (
	asset_id TEXT PRIMARY KEY,
	version INTEGER NOT NULL,
	status TEXT NOT NULL,
	due_at INTEGER,
	finished_at INTEGER,
	synced_at INTEGER NOT NULL
);
CREATE INDEX assets_by_due ON assets (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX assets_by_finished ON assets (finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE watches (
	id TEXT PRIMARY KEY,
	asset_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	state TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	version INTEGER NOT NULL
);
CREATE INDEX watches_by_owner ON watches (owner, created_at, id);
CREATE INDEX watches_by_owner_state ON watches (owner, state, created_at, id);
CREATE INDEX watches_by_owner_asset ON watches (owner, asset_id, created_at, id);
CREATE INDEX watches_by_asset ON watches (asset_id, version);
CREATE INDEX watches_live_by_expiry ON watches (expires_at) WHERE state = 'watching';
`,
	},
	{
		// One table: each watch row carries its asset's summary. A finished asset's sweep_at is its
		// finish time here (the asset sets finish + RETENTION_S on its next push; a purge re-checks).
		name: "0002_watch_rows",
		sql: `
${WATCHES("watches_v2")}
INSERT INTO watches_v2 (owner, created_at, id, asset_id, state, asset_status, updated_at, expires_at, sweep_at, finished, version)
SELECT w.owner, w.created_at, w.id, w.asset_id, w.state, COALESCE(a.status, 'Unknown'), w.updated_at, w.expires_at,
	COALESCE(a.finished_at, a.due_at), CASE WHEN a.finished_at IS NULL THEN 0 ELSE 1 END, w.version
FROM watches w LEFT JOIN assets a ON a.asset_id = w.asset_id;
DROP TABLE watches;
DROP TABLE assets;
ALTER TABLE watches_v2 RENAME TO watches;
${SWEEP_INDEX}
`,
	},
];

export const BASELINE = `
${WATCHES("watches")}
${SWEEP_INDEX}
`;
