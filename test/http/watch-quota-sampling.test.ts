// The token's live-watch count (src/http/watch-quota.ts) against index shards that answer scripted
// counts: far below a large limit a refresh asks one shard and scales it, shards taking turns; an
// estimate at half the limit or more, and any refusal, come from every shard; small limits are
// always counted exactly.

import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
	COUNT_MAX_AGE_MS,
	forgetLocalCounts,
	type QuotaContext,
	SAMPLE_MIN_PER_SHARD,
	takeWatchSlot,
} from "../../src/http/watch-quota";
import { useFakeWorld } from "../support/fakes";

const world = useFakeWorld();
const SHARDS = Number(env.INDEX_SHARDS);
/** The smallest limit that may be sampled, and half of it (where sampling stops). */
const LIMIT = SAMPLE_MIN_PER_SHARD * SHARDS;
const HALF = LIMIT / 2;

/** Index shards that answer `counts[shard]` to liveCount, and remember which shards were asked. */
function scriptedIndex(counts: number[]) {
	const asked: number[] = [];
	const WATCH_INDEX = {
		getByName(name: string) {
			const shard = Number(name.replace("shard-", ""));
			return {
				liveCount: async () => {
					asked.push(shard);
					return counts[shard] ?? 0;
				},
			};
		},
	};
	return { asked, WATCH_INDEX };
}

let n = 0;
function quota(index: ReturnType<typeof scriptedIndex>) {
	const pending: Promise<unknown>[] = [];
	const ctx: QuotaContext = {
		env: { ...env, WATCH_INDEX: index.WATCH_INDEX } as unknown as Env,
		requestUrl: "https://watcher.test/v1/watches",
		waitUntil: (p) => pending.push(p),
	};
	const owner = `sampling-${++n}-${Math.random().toString(36).slice(2, 8)}`;
	return {
		/** Takes a slot and lets any background refresh it started finish. */
		async take(limit = LIMIT) {
			const slot = await takeWatchSlot(ctx, owner, limit);
			await Promise.all(pending.splice(0));
			return slot;
		},
	};
}

beforeEach(() => forgetLocalCounts());
afterEach(() => forgetLocalCounts());

describe("the token's live-watch count, sampled far below a large limit", () => {
	it("far below the limit a refresh asks one shard, and the next refresh the next shard", async () => {
		const index = scriptedIndex(Array.from({ length: SHARDS }, () => 3));
		const q = quota(index);
		expect((await q.take()).full).toBe(false);
		expect(index.asked).toHaveLength(1);
		world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		const slot = await q.take();
		// The second slot is counted from the first refresh's estimate (3 × shards) plus the first slot.
		expect(slot.live).toBe(3 * SHARDS + 1);
		expect(index.asked).toHaveLength(2);
		expect(index.asked[1]).toBe(((index.asked[0] as number) + 1) % SHARDS);
	});

	it("an estimate of half the limit or more is replaced by a count of every shard", async () => {
		// One shard's share of HALF: the estimate reaches half the limit exactly.
		const index = scriptedIndex(Array.from({ length: SHARDS }, () => HALF / SHARDS));
		const q = quota(index);
		await q.take();
		expect(index.asked).toHaveLength(1 + SHARDS);
		expect(new Set(index.asked.slice(1)).size).toBe(SHARDS);
		world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		// The count is now at half the limit: the next refresh goes to every shard at once.
		index.asked.length = 0;
		expect((await q.take()).live).toBe(HALF + 1);
		expect(index.asked).toHaveLength(SHARDS);
	});

	it("a refusal is made from a count of every shard, never from an estimate", async () => {
		// The estimate (one shard's 1 × shards) is far below; every shard together is well under the limit.
		const index = scriptedIndex(Array.from({ length: SHARDS }, () => 1));
		const q = quota(index);
		await q.take();
		expect(index.asked).toHaveLength(1);
		// This isolate's own slots take the estimate up to the limit within the count's age.
		let slot = await q.take();
		while (slot.live < LIMIT - 1) slot = await q.take();
		expect(index.asked).toHaveLength(1);
		// At the limit by estimate: the count of every shard (SHARDS + the slots taken) says not full.
		const next = await q.take();
		expect(index.asked).toHaveLength(1 + SHARDS);
		expect(next.full).toBe(false);
	});

	it("watches piled in one shard are found within one turn of the shards, then refused", async () => {
		const counts = Array.from({ length: SHARDS }, () => 0);
		counts[Math.floor(SHARDS / 2)] = LIMIT;
		const index = scriptedIndex(counts);
		const q = quota(index);
		let refreshes = 0;
		for (; refreshes <= SHARDS; refreshes++) {
			const slot = await q.take();
			if (slot.full) break;
			world.vclock.advance(COUNT_MAX_AGE_MS + 1);
		}
		expect(refreshes).toBeLessThan(SHARDS + 1);
		// And the refusal stands on every shard's count.
		const refused = await q.take();
		expect(refused.full).toBe(true);
		expect(refused.live).toBeGreaterThanOrEqual(LIMIT);
	});

	it("a limit too small to sample is always counted from every shard", async () => {
		const index = scriptedIndex(Array.from({ length: SHARDS }, () => 0));
		const q = quota(index);
		await q.take(LIMIT - 1);
		expect(index.asked).toHaveLength(SHARDS);
	});
});
