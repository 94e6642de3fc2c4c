// A cost meter for tests inside workerd: counts, per Durable Object class, the SQLite rows written
// and read (from each statement's own cursor, as Cloudflare bills them), alarm writes, and calls in
// (RPC and alarms are counted by the caller: see `countCall`). The objects run in the tests' isolate,
// so patching the storage prototypes sees every statement every object runs.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

export type ObjectClass =
	| "AssetWatcher"
	| "WatchIndex"
	| "TokenQuota"
	| "PollModel"
	| "UpstreamBudget"
	| "unknown";

export interface ClassCost {
	rowsWritten: number;
	rowsRead: number;
	alarmWrites: number;
	statements: number;
}

type Tally = ClassCost & { cls: ObjectClass };

/** Tables that only one class has: the first statement naming one tells an object's class. */
const TELLTALE: [RegExp, ObjectClass][] = [
	[
		/\b(index_sync|deliveries|attempts)\b|\bFROM asset\b|\bINTO asset\b|\bUPDATE asset\b|TABLE asset\b/,
		"AssetWatcher",
	],
	[/\b(sweep_at|asset_status)\b/, "WatchIndex"],
	[/\blive_watches\b/, "TokenQuota"],
	[/\bmodels\b/, "PollModel"],
];

function classOf(query: string): ObjectClass | null {
	for (const [re, cls] of TELLTALE) if (re.test(query)) return cls;
	return null;
}

export class Meter {
	private tallies = new Map<object, Tally>();
	private cursors: { tally: Tally; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];
	private restore: (() => void)[] = [];

	private tally(sql: object): Tally {
		let t = this.tallies.get(sql);
		if (!t) {
			t = { cls: "unknown", rowsWritten: 0, rowsRead: 0, alarmWrites: 0, statements: 0 };
			this.tallies.set(sql, t);
		}
		return t;
	}

	/** Starts counting (patches the storage prototypes of every object in this isolate). */
	async install(): Promise<this> {
		// Any object gives us the prototypes; the probe itself is not counted.
		const probe = env.WATCH_INDEX.getByName("meter-probe");
		const { sqlProto, storageProto } = await runInDurableObject(probe, (_i, state) => ({
			sqlProto: Object.getPrototypeOf(state.storage.sql) as SqlStorage,
			storageProto: Object.getPrototypeOf(state.storage) as DurableObjectStorage,
		}));
		const meter = this;
		const exec = sqlProto.exec;
		sqlProto.exec = function (this: SqlStorage, query: string, ...bindings: SqlStorageValue[]) {
			const cursor = exec.call(this, query, ...bindings);
			const t = meter.tally(this);
			if (t.cls === "unknown") t.cls = classOf(query) ?? "unknown";
			t.statements++;
			meter.cursors.push({ tally: t, cursor });
			return cursor;
		} as SqlStorage["exec"];
		this.restore.push(() => {
			sqlProto.exec = exec;
		});
		for (const name of ["setAlarm", "deleteAlarm"] as const) {
			const original = storageProto[name] as (...args: unknown[]) => Promise<void>;
			(storageProto as unknown as Record<string, unknown>)[name] = function (
				this: DurableObjectStorage,
				...args: unknown[]
			) {
				// Only the service's own writes: the test harness removes an alarm before it runs it
				// (runDurableObjectAlarm), and tests arrange alarms of their own.
				if (/\/src\//.test(new Error().stack ?? "")) meter.tally(this.sql).alarmWrites++;
				return original.apply(this, args);
			};
			this.restore.push(() => {
				(storageProto as unknown as Record<string, unknown>)[name] = original;
			});
		}
		return this;
	}

	uninstall(): void {
		for (const r of this.restore.splice(0)) r();
	}

	/** Forgets what was counted so far (the cursors' counts are read when the totals are taken). */
	reset(): void {
		this.settle();
		for (const t of this.tallies.values())
			Object.assign(t, { rowsWritten: 0, rowsRead: 0, alarmWrites: 0, statements: 0 });
	}

	private settle(): void {
		for (const { tally, cursor } of this.cursors.splice(0)) {
			tally.rowsWritten += cursor.rowsWritten;
			tally.rowsRead += cursor.rowsRead;
		}
	}

	/** Totals per class since install (or the last reset). */
	totals(): Record<ObjectClass, ClassCost> {
		this.settle();
		const out = {} as Record<ObjectClass, ClassCost>;
		for (const t of this.tallies.values()) {
			out[t.cls] ??= { rowsWritten: 0, rowsRead: 0, alarmWrites: 0, statements: 0 };
			const c = out[t.cls];
			c.rowsWritten += t.rowsWritten;
			c.rowsRead += t.rowsRead;
			c.alarmWrites += t.alarmWrites;
			c.statements += t.statements;
		}
		return out;
	}

	/** Rows written plus alarm writes, over every class: what Cloudflare bills as rows written. */
	billedRows(): number {
		return Object.values(this.totals()).reduce((n, c) => n + c.rowsWritten + c.alarmWrites, 0);
	}
}
