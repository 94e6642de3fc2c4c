// A cost meter for tests inside workerd: counts, per Durable Object class, the SQLite rows written
// and read (from each statement's own cursor, as Cloudflare bills them), alarm writes, and calls in
// (each RPC method call and each alarm run is one billed request). The objects run in the tests'
// isolate, so patching the storage prototypes sees every statement every object runs, and patching
// each class's RPC methods and alarm sees every call into it.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

export type ObjectClass =
	| "AssetWatcher"
	| "WatchIndex"
	| "ReceiverOrigin"
	| "ReceiverDirectory"
	| "PollModel"
	| "UpstreamBudget"
	| "unknown";

export interface ClassCost {
	rowsWritten: number;
	rowsRead: number;
	alarmWrites: number;
	statements: number;
	/** RPC method calls into objects of the class */
	calls: number;
	/** alarm runs of objects of the class */
	alarms: number;
}

/** Each class's billed entry points: its RPC methods (what a stub can call) and its alarm. */
const ENTRY_POINTS: Record<Exclude<ObjectClass, "unknown">, { binding: keyof Env; methods: string[] }> = {
	AssetWatcher: {
		binding: "ASSET_WATCHER",
		methods: [
			"register",
			"getWatch",
			"cancel",
			"redeliver",
			"lookup",
			"probeOrigin",
			"resumeOrigin",
			"heal",
			"purge",
		],
	},
	WatchIndex: {
		binding: "WATCH_INDEX",
		methods: ["sync", "remove", "candidates", "list", "stats", "liveCount"],
	},
	ReceiverOrigin: { binding: "RECEIVER_ORIGIN", methods: ["report", "hold", "forget", "record"] },
	ReceiverDirectory: { binding: "RECEIVER_DIRECTORY", methods: ["add", "list"] },
	PollModel: { binding: "POLL_MODEL", methods: ["addSample", "snapshots"] },
	UpstreamBudget: { binding: "UPSTREAM_BUDGET", methods: ["acquire", "report", "state"] },
};

/** A class that has cost nothing yet. */
export const zero = (): ClassCost => ({
	rowsWritten: 0,
	rowsRead: 0,
	alarmWrites: 0,
	statements: 0,
	calls: 0,
	alarms: 0,
});

type Tally = ClassCost & { cls: ObjectClass };

/** Tables that only one class has: the first statement naming one tells an object's class. */
const TELLTALE: [RegExp, ObjectClass][] = [
	[
		/\b(records|index_sync|deliveries|attempts)\b|\bFROM asset\b|\bINTO asset\b|\bUPDATE asset\b|TABLE asset\b/,
		"AssetWatcher",
	],
	[/\b(sweep_at|asset_status)\b/, "WatchIndex"],
	[/\bwaiters\b|\b(FROM|INTO|UPDATE) origin\b|TABLE origin\b/, "ReceiverOrigin"],
	[/\borigins\b/, "ReceiverDirectory"],
	[/\bmodels\b/, "PollModel"],
];

function classOf(query: string): ObjectClass | null {
	for (const [re, cls] of TELLTALE) if (re.test(query)) return cls;
	return null;
}

export class Meter {
	private tallies = new Map<object, Tally>();
	/** calls and alarm runs per class, counted at the class's own methods */
	private entries = new Map<ObjectClass, { calls: number; alarms: number }>();
	/** calls per `Class.method` (alarm runs as `Class.alarm`) */
	private byMethod = new Map<string, number>();
	private cursors: { tally: Tally; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }[] = [];
	private restore: (() => void)[] = [];

	private tally(sql: object): Tally {
		let t = this.tallies.get(sql);
		if (!t) {
			t = { cls: "unknown", ...zero() };
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
		for (const [cls, { binding, methods }] of Object.entries(ENTRY_POINTS) as [
			ObjectClass,
			(typeof ENTRY_POINTS)[keyof typeof ENTRY_POINTS],
		][]) {
			const ns = env[binding] as unknown as DurableObjectNamespace;
			const proto = await runInDurableObject(ns.getByName("meter-probe"), (instance) =>
				Object.getPrototypeOf(instance),
			);
			for (const name of [...methods, "alarm"]) {
				const original = proto[name] as (...args: unknown[]) => unknown;
				if (typeof original !== "function") continue;
				proto[name] = function (this: unknown, ...args: unknown[]) {
					const e = meter.entries.get(cls) ?? { calls: 0, alarms: 0 };
					if (name === "alarm") e.alarms++;
					else e.calls++;
					meter.entries.set(cls, e);
					meter.byMethod.set(`${cls}.${name}`, (meter.byMethod.get(`${cls}.${name}`) ?? 0) + 1);
					return original.apply(this, args);
				};
				this.restore.push(() => {
					proto[name] = original;
				});
			}
		}
		return this;
	}

	uninstall(): void {
		for (const r of this.restore.splice(0)) r();
	}

	/** Forgets what was counted so far (the cursors' counts are read when the totals are taken). */
	reset(): void {
		this.settle();
		for (const t of this.tallies.values()) Object.assign(t, { ...zero(), cls: t.cls });
		this.entries.clear();
		this.byMethod.clear();
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
			out[t.cls] ??= zero();
			const c = out[t.cls];
			c.rowsWritten += t.rowsWritten;
			c.rowsRead += t.rowsRead;
			c.alarmWrites += t.alarmWrites;
			c.statements += t.statements;
		}
		for (const [cls, e] of this.entries) {
			out[cls] ??= zero();
			out[cls].calls += e.calls;
			out[cls].alarms += e.alarms;
		}
		return out;
	}

	/** Rows written plus alarm writes, over every class: what Cloudflare bills as rows written. */
	billedRows(): number {
		return Object.values(this.totals()).reduce((n, c) => n + c.rowsWritten + c.alarmWrites, 0);
	}

	/** Calls per `Class.method` since install (or the last reset). */
	calls(): Record<string, number> {
		return Object.fromEntries([...this.byMethod].sort(([a], [b]) => a.localeCompare(b)));
	}

	/** Calls into every class: what Cloudflare bills as Durable Object requests. */
	requests(): number {
		return Object.values(this.totals()).reduce((n, c) => n + c.calls + c.alarms, 0);
	}
}
