// The cron sweep through the worker's own `scheduled` handler: an asset whose alarm was lost is
// re-armed and then delivers; a watch past WATCH_TTL_S is expired with its ttl callback; a finished
// asset is purged after RETENTION_S (404 on its watch, watched:false on lookup); two sweeps at once
// do nothing twice; the index being away never fails a registration and loses nothing.

import {
	createExecutionContext,
	createScheduledController,
	runInDurableObject,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { perShardCap, SWEEP_GRACE_MS } from "../../src/sweep/capacity";
import { runSweep, type SweepSummary } from "../../src/sweep/sweep";
import { HEARTBEAT_MS, shardName, shardOf } from "../../src/watch-index/shards";
import { indexFor } from "../../src/watch-index/watch-index";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, runDue, step, stepUntil, stubOf } from "../support/steps";

const TTL_MS = Number(env.WATCH_TTL_S) * 1000;
const RETENTION_MS = Number(env.RETENTION_S) * 1000;
/** Long enough past any lease for the sweep to call an asset overdue. */
const LOST = 2 * HEARTBEAT_MS + SWEEP_GRACE_MS + 60_000;

// Counts are exact only over an empty index: every test starts from clean storage.
const world = useFakeWorld({ resetStorage: true });

afterEach(() => {
	vi.restoreAllMocks();
});

type Watch = { id: string; state: string; delivery: { event_type: string } | null };
type Summary = SweepSummary & { msg: string };

async function register(
	assetId: string,
	callbackUrl = `https://receiver.example/${assetId}`,
): Promise<Watch> {
	const res = await call("POST", "/v1/watches", { body: { asset_id: assetId, callback_url: callbackUrl } });
	expect(res.status).toBe(201);
	return json<Watch>(res);
}

const getWatch = (id: string) => call("GET", `/v1/watches/${id}`);
const loseAlarm = (assetId: string) => runInDurableObject(stubOf(assetId), (_, s) => s.storage.deleteAlarm());

/** Runs the cron trigger as the platform would and returns its one summary line. */
async function cron(): Promise<Summary> {
	const log = vi.spyOn(console, "log");
	try {
		const ctx = createExecutionContext();
		await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
		await waitOnExecutionContext(ctx);
		const lines = log.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith('{"msg":"sweep"'));
		expect(lines).toHaveLength(1);
		return JSON.parse(lines[0] as string) as Summary;
	} finally {
		log.mockRestore();
	}
}

describe("re-arming", () => {
	it("an asset whose alarm was deleted is re-armed by one sweep, then checks and delivers", async () => {
		const asset = unique("lost");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" }, { status: "Active" });
		const w = await register(asset, url);
		await step(world.vclock, asset);
		await loseAlarm(asset);
		expect(await alarmAt(asset)).toBeNull();
		world.vclock.advance(LOST);

		const s = await cron();
		expect(s).toMatchObject({ msg: "sweep", shards: 16, rearmed: 1, expired: 0, purged: 0, failed: 0 });
		expect(Object.keys(s).sort()).toEqual(
			["examined", "expired", "failed", "more", "ms", "msg", "purged", "rearmed", "shards"].sort(),
		);
		expect(await alarmAt(asset)).not.toBeNull();

		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect(world.fakes.deliveriesTo(url)[0]?.json).toMatchObject({
			type: "asset.active",
			data: { watch_id: w.id },
		});
		expect((await json<Watch>(await getWatch(w.id))).state).toBe("delivered");

		// Healed and finished: nothing left for the next run.
		expect(await cron()).toMatchObject({ rearmed: 0, expired: 0, purged: 0 });
	});

	it("a healthy asset that keeps running is never taken for overdue", async () => {
		const asset = unique("healthy");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset);
		// An hour of checks (growing to the 60 s cap), with the cron sweep every 5 minutes between them.
		const end = world.vclock.t + 3_600_000;
		let nextSweep = world.vclock.t + 300_000;
		let sweeps = 0;
		while (world.vclock.t < end) {
			await step(world.vclock, asset);
			for (; world.vclock.t >= nextSweep; nextSweep += 300_000, sweeps++)
				expect(await runSweep(env)).toMatchObject({ rearmed: 0, expired: 0, purged: 0, failed: 0 });
		}
		expect(sweeps).toBeGreaterThanOrEqual(11);
	}, 30_000);
});

describe("TTL", () => {
	it("a watch past WATCH_TTL_S whose own alarm is gone is expired by the sweep with its ttl callback", async () => {
		const asset = unique("ttl");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" });
		const w = await register(asset, url);
		await step(world.vclock, asset);
		await loseAlarm(asset);
		world.vclock.advance(TTL_MS + SWEEP_GRACE_MS + 1000);

		const s = await cron();
		expect(s).toMatchObject({ expired: 1, rearmed: 1, purged: 0 });
		expect((await json<Watch>(await getWatch(w.id))).state).toBe("notifying");

		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect(world.fakes.deliveriesTo(url)[0]?.json).toMatchObject({
			type: "watch.expired",
			data: { reason: "ttl", status: "Processing" },
		});
		expect(await cron()).toMatchObject({ expired: 0, rearmed: 0 });
	});
});

describe("purge", () => {
	it("removes a finished asset after RETENTION_S: its watch answers 404, the asset is unwatched", async () => {
		const asset = unique("old");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		const w = await register(asset, url);
		await stepUntil(
			world.vclock,
			asset,
			async () => (await json<Watch>(await getWatch(w.id))).state === "delivered",
		);

		world.vclock.advance(RETENTION_MS - 60_000);
		expect(await cron()).toMatchObject({ purged: 0, rearmed: 0 });
		expect((await getWatch(w.id)).status).toBe(200);

		world.vclock.advance(120_000);
		expect(await cron()).toMatchObject({ purged: 1, rearmed: 0, expired: 0 });

		const gone = await getWatch(w.id);
		expect(gone.status).toBe(404);
		expect(await json(gone)).toMatchObject({ error: { code: "watch_not_found" } });
		const status = await call("GET", `/v1/assets/${asset}`);
		expect(status.status).toBe(200);
		expect(await json(status)).toMatchObject({ asset_id: asset, status: "Active", watched: false });
		const list = await json<{ watches: unknown[] }>(await call("GET", `/v1/watches?asset_id=${asset}`));
		expect(list.watches).toEqual([]);
		// Storage is gone, not just emptied.
		const tables = await runInDurableObject(stubOf(asset), (_, s) =>
			s.storage.sql
				.exec<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'",
				)
				.toArray(),
		);
		expect(tables).toEqual([]);
		expect(await cron()).toMatchObject({ purged: 0 });

		// The asset id can be watched again from scratch.
		const again = await register(asset, url);
		expect(again.id).not.toBe(w.id);
		await runDue(world.vclock, asset);
		const page = await json<{ watches: { id: string }[] }>(
			await call("GET", `/v1/watches?asset_id=${asset}`),
		);
		expect(page.watches.map((x) => x.id)).toEqual([again.id]);
	});

	it("a failed watch redelivered before the purge keeps the asset", async () => {
		const asset = unique("revived");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 500);
		const w = await register(asset, url);
		await stepUntil(
			world.vclock,
			asset,
			async () => (await json<Watch>(await getWatch(w.id))).state === "failed",
			20,
		);
		world.vclock.advance(RETENTION_MS + 60_000);
		world.fakes.receiver(url, 204);
		expect((await call("POST", `/v1/watches/${w.id}/redeliver`)).status).toBe(202);
		expect(await cron()).toMatchObject({ purged: 0 });
		expect((await getWatch(w.id)).status).toBe(200);
	});

	it("index rows whose asset has no storage left are dropped by the next sweep", async () => {
		const asset = unique("ghost");
		await indexFor(env, asset).sync({
			asset_id: asset,
			version: 5,
			status: "Processing",
			sweep_at: world.vclock.t - LOST,
			finished: false,
			watches: [
				{
					id: `w_${"a".repeat(20)}_Z2hvc3Q`,
					owner: "o",
					state: "watching",
					created_at: 1,
					updated_at: 1,
					expires_at: world.vclock.t + TTL_MS,
				},
			],
		});
		expect(await cron()).toMatchObject({ rearmed: 0, purged: 0, failed: 0 });
		// Nothing left to read but one probe row per shard.
		expect(await cron()).toMatchObject({ rearmed: 0, purged: 0, examined: 16 });
	});
});

describe("the per-run cap", () => {
	it("acts on at most perShardCap(16) = 30 assets per shard per run, says there is more, and finishes on later runs", async () => {
		// 70 stale rows in one shard (assets with no storage): each run drops at most 30 of them.
		const ghosts: string[] = [];
		for (let i = 0; ghosts.length < 70; i++) if (shardOf(`cap-${i}`, 16) === 0) ghosts.push(`cap-${i}`);
		for (const asset of ghosts)
			await indexFor(env, asset).sync({
				asset_id: asset,
				version: 1,
				status: "Processing",
				sweep_at: world.vclock.t - LOST,
				finished: false,
				watches: [
					{
						id: `w_${"c".repeat(20)}_${asset}`,
						owner: "o",
						state: "watching",
						created_at: 1,
						updated_at: 1,
						expires_at: world.vclock.t + TTL_MS,
					},
				],
			});
		const left = () =>
			runInDurableObject(
				env.WATCH_INDEX.getByName(shardName(0)),
				(_, s) =>
					s.storage.sql.exec<{ n: number }>("SELECT COUNT(DISTINCT asset_id) AS n FROM watches").one().n,
			);
		expect(perShardCap(16)).toBe(30);
		const runs: [boolean, number][] = [];
		for (let i = 0; i < 3; i++) {
			const s = await runSweep(env);
			runs.push([s.more, await left()]);
		}
		expect(runs).toEqual([
			[true, 40],
			[true, 10],
			[false, 0],
		]);
	});
});

describe("two sweeps at once", () => {
	it("re-arm, expire and purge each happen once, and every callback is sent once", async () => {
		const purged = unique("p");
		world.fakes.script(purged, { status: "Active" });
		const pw = await register(purged);
		await stepUntil(
			world.vclock,
			purged,
			async () => (await json<Watch>(await getWatch(pw.id))).state === "delivered",
		);
		world.vclock.advance(RETENTION_MS - TTL_MS);

		const ttl = unique("t");
		const ttlUrl = `https://receiver.example/${ttl}`;
		world.fakes.script(ttl, { status: "Processing" });
		await register(ttl, ttlUrl);
		await step(world.vclock, ttl);
		await loseAlarm(ttl);
		world.vclock.advance(TTL_MS + 60_000);

		const lost = unique("l");
		const lostUrl = `https://receiver.example/${lost}`;
		world.fakes.script(lost, { status: "Processing" }, { status: "Active" });
		await register(lost, lostUrl);
		await step(world.vclock, lost);
		await loseAlarm(lost);
		world.vclock.advance(LOST);

		const [a, b] = await Promise.all([runSweep(env), runSweep(env)]);
		expect({
			rearmed: a.rearmed + b.rearmed,
			expired: a.expired + b.expired,
			purged: a.purged + b.purged,
			failed: a.failed + b.failed,
		}).toEqual({ rearmed: 2, expired: 1, purged: 1, failed: 0 });

		await stepUntil(world.vclock, ttl, () => world.fakes.deliveriesTo(ttlUrl).length > 0);
		await stepUntil(world.vclock, lost, () => world.fakes.deliveriesTo(lostUrl).length > 0);
		for (const id of [ttl, lost]) while (await step(world.vclock, id));
		expect(world.fakes.deliveriesTo(ttlUrl).map((d) => d.json.type)).toEqual(["watch.expired"]);
		expect(world.fakes.deliveriesTo(lostUrl).map((d) => d.json.type)).toEqual(["asset.active"]);
		expect((await getWatch(pw.id)).status).toBe(404);
	});
});

describe("the index being away", () => {
	it("never fails a registration; the asset pushes again on its next alarm", async () => {
		const asset = unique("offline");
		world.fakes.script(asset, { status: "Processing" });
		// The index as the asset object sees it when it is away: every push is refused at the call.
		// (Failing on the caller's side, rather than throwing inside the index object, keeps the
		// runtime from reporting each refusal as an uncaught exception of the index.)
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const realShard = env.WATCH_INDEX.getByName.bind(env.WATCH_INDEX);
		const pushes: string[] = [];
		const sync = vi.spyOn(env.WATCH_INDEX, "getByName").mockImplementation((name: string) => {
			const shard = realShard(name);
			return new Proxy(shard, {
				get(target, key) {
					if (key !== "sync") return Reflect.get(target, key);
					return async (push: { asset_id: string }) => {
						pushes.push(push.asset_id);
						throw new Error("index overloaded");
					};
				},
			});
		});
		const w = await register(asset);
		const listed = async () =>
			(
				await json<{ watches: { id: string; state: string }[] }>(
					await call("GET", `/v1/watches?asset_id=${asset}`),
				)
			).watches;
		expect(await listed()).toEqual([]);

		await step(world.vclock, asset);
		// Still refused: the asset comes back within 30 s rather than at its next check.
		const retryAt = await alarmAt(asset);
		expect(retryAt).not.toBeNull();
		expect((retryAt as number) - world.vclock.t).toBeLessThanOrEqual(30_000);

		// The retry is refused too: the first alarm's push and its retry were both refused, each logged.
		await step(world.vclock, asset);
		expect(pushes.filter((a) => a === asset).length).toBeGreaterThanOrEqual(2);
		const logged = warn.mock.calls.map((args) => JSON.parse(String(args[0])));
		expect(logged.filter((l) => l.msg === "index push failed" && l.asset_id === asset).length).toBe(
			pushes.filter((a) => a === asset).length,
		);
		expect(logged.every((l) => l.error === "index overloaded")).toBe(true);
		sync.mockRestore();
		await step(world.vclock, asset);
		expect(await listed()).toMatchObject([{ id: w.id, state: "watching" }]);
	});
});
