// What an asset object's pushes to its index shard carry (src/watcher/index-sync.ts): a new watch
// on an asset whose summary the shard already has is pushed alone; a new status, a fresh
// instance, or a repair pushes every watch; and the listing shows every watch either way.

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AssetSync } from "../../src/watch-index/watch-index";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { runDue, step, stubOf } from "../support/steps";

const world = useFakeWorld();

/** The pushes the index shards took, as (asset, number of watches carried). */
const pushes: { asset: string; watches: number; status: string }[] = [];
let restore: () => void = () => {};

beforeAll(async () => {
	const proto = await runInDurableObject(env.WATCH_INDEX.getByName("push-probe"), (instance) =>
		Object.getPrototypeOf(instance),
	);
	const sync = proto.sync as (u: AssetSync) => Promise<void>;
	proto.sync = function (this: unknown, u: AssetSync) {
		pushes.push({ asset: u.asset_id, watches: u.watches.length, status: u.status });
		return sync.call(this, u);
	};
	restore = () => {
		proto.sync = sync;
	};
});
afterAll(() => restore());
beforeEach(() => {
	pushes.length = 0;
});

const pushesOf = (asset: string) => pushes.filter((p) => p.asset === asset);

async function register(asset: string, n: number): Promise<void> {
	const res = await call("POST", "/v1/watches", {
		body: { asset_id: asset, callback_url: `https://receiver.example/${asset}/${n}` },
	});
	expect(res.status).toBe(201);
	await runDue(world.vclock, asset);
}

async function listed(asset: string): Promise<{ state: string; asset_status: string }[]> {
	const res = await call("GET", `/v1/watches?asset_id=${asset}&limit=100`);
	expect(res.status).toBe(200);
	return (await json<{ watches: { state: string; asset_status: string }[] }>(res)).watches;
}

describe("index pushes", () => {
	it("a new watch on a watched asset is pushed alone; a new status pushes every watch", async () => {
		const asset = unique("push");
		world.fakes.script(asset, { status: "Processing" });
		for (let i = 0; i < 5; i++) await register(asset, i);
		// The first push carries the first watch; each later registration only its own.
		expect(pushesOf(asset).map((p) => p.watches)).toEqual([1, 1, 1, 1, 1]);
		expect(await listed(asset)).toHaveLength(5);

		world.fakes.script(asset, { status: "Active" });
		pushes.length = 0;
		await step(world.vclock, asset);
		// The status is on every row: all five go, and the listing says Active for each.
		expect(pushesOf(asset)[0]).toMatchObject({ watches: 5, status: "Active" });
		const rows = await listed(asset);
		expect(rows).toHaveLength(5);
		expect(rows.every((w) => w.asset_status === "Active")).toBe(true);
	});

	it("a fresh instance knows nothing of its shard: its first push carries every watch", async () => {
		const asset = unique("push-evict");
		world.fakes.script(asset, { status: "Processing" });
		for (let i = 0; i < 3; i++) await register(asset, i);
		await evictDurableObject(stubOf(asset));
		pushes.length = 0;
		await register(asset, 3);
		expect(pushesOf(asset).map((p) => p.watches)).toEqual([4]);
		expect(await listed(asset)).toHaveLength(4);
	});
});
