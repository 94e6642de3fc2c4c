// The sweep's cost follows the work, not the fleet: over 10,000 healthy watches (seeded straight
// into the index shards) and 10 assets whose alarms were lost, one run reads on the order of
// 10 + the shard count index rows (SQLite's own rowsRead), re-arms exactly the 10, and touches no
// healthy asset. It prints the count and the run's time.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SWEEP_GRACE_MS } from "../../src/sweep/capacity";
import { runSweep } from "../../src/sweep/sweep";
import { HEARTBEAT_MS, shardName, shardOf } from "../../src/watch-index/shards";
import type { AssetSync } from "../../src/watch-index/watch-index";
import { call, Fakes, VirtualClock } from "../support/fakes";
import { step, stubOf } from "../support/steps";

const HEALTHY = 10_000;
const BROKEN = 10;

let fakes: Fakes;
let vclock: VirtualClock;
beforeAll(() => {
	fakes = new Fakes().install();
	vclock = new VirtualClock().install();
});
afterAll(() => {
	fakes.uninstall();
	vclock.uninstall();
});

it(`a sweep over ${HEALTHY} healthy watches and ${BROKEN} broken ones reads about ${BROKEN} + shards rows`, async () => {
	const shards = Number(env.INDEX_SHARDS);
	const now = vclock.t;
	const day = 86_400_000;

	// Healthy: polling, leases a day ahead, watches far from their TTL. Seeded per shard in-process.
	const byShard = new Map<number, AssetSync[]>();
	for (let i = 0; i < HEALTHY; i++) {
		const assetId = `healthy-${i}`;
		const sync: AssetSync = {
			asset_id: assetId,
			version: now,
			status: "Processing",
			due_at: now + day,
			finished_at: null,
			synced_at: now,
			watches: [
				{
					id: `w_${String(i).padStart(20, "a")}_x`,
					owner: "seeded-owner",
					state: "watching",
					created_at: now,
					updated_at: now,
					expires_at: now + 2 * day,
				},
			],
		};
		const shard = shardOf(assetId, shards);
		byShard.set(shard, [...(byShard.get(shard) ?? []), sync]);
	}
	for (const [shard, syncs] of byShard)
		await runInDurableObject(env.WATCH_INDEX.getByName(shardName(shard)), async (index) => {
			for (const s of syncs) await index.sync(s);
		});

	// Broken: real assets whose alarms were lost after their first check.
	const broken = Array.from({ length: BROKEN }, (_, i) => `broken-${i}`);
	for (const assetId of broken) {
		fakes.script(assetId, { status: "Processing" });
		const res = await call("POST", "/v1/watches", {
			body: { asset_id: assetId, callback_url: `https://receiver.example/${assetId}` },
		});
		expect(res.status).toBe(201);
		await step(vclock, assetId);
		await runInDurableObject(stubOf(assetId), (_, s) => s.storage.deleteAlarm());
	}
	vclock.advance(2 * HEARTBEAT_MS + SWEEP_GRACE_MS + 60_000);

	// The measure is honest: reading every watch row costs what it should.
	let fullScan = 0;
	for (let shard = 0; shard < shards; shard++)
		fullScan += await runInDurableObject(env.WATCH_INDEX.getByName(shardName(shard)), (_, s) => {
			const c = s.storage.sql.exec("SELECT COUNT(*) FROM watches WHERE state = 'watching'");
			c.toArray();
			return c.rowsRead;
		});
	expect(fullScan).toBeGreaterThanOrEqual(HEALTHY + BROKEN);

	const summary = await runSweep(env);
	console.log(
		`sweep over ${HEALTHY} healthy + ${BROKEN} broken watches in ${shards} shards: examined=${summary.examined} rows, ms=${summary.ms} ` +
			`(a full read of the watch rows: ${fullScan}) ${JSON.stringify(summary)}`,
	);
	expect(summary).toMatchObject({ shards, rearmed: BROKEN, expired: 0, purged: 0, failed: 0, more: false });
	// Each shard answers three range queries (one probe row each when empty) plus one row per hit.
	expect(summary.examined).toBeLessThanOrEqual(3 * shards + 2 * BROKEN);
	expect(summary.examined).toBeLessThan(HEALTHY / 50);

	// Healed: every broken asset has its alarm back, and the next run finds nothing to do.
	for (const assetId of broken)
		expect(await runInDurableObject(stubOf(assetId), (_, s) => s.storage.getAlarm())).not.toBeNull();
	const again = await runSweep(env);
	expect(again).toMatchObject({ rearmed: 0, expired: 0, purged: 0 });
	expect(again.examined).toBeLessThanOrEqual(3 * shards);
}, 120_000);
