// Where an asset's index rows live and how fresh the index must be: a stable shard per asset that
// spreads evenly, and the heartbeat lease (never early, never much late, rarely rewritten).
import { describe, expect, it } from "vitest";
import { fnv1a } from "../../src/core/hash";
import { HEARTBEAT_MS, leaseFor, shardOf } from "../../src/watch-index/shards";

describe("shardOf", () => {
	it("is stable and matches the published FNV-1a values", () => {
		expect(fnv1a("")).toBe(0x811c9dc5);
		expect(fnv1a("a")).toBe(0xe40c292c);
		expect(fnv1a("foobar")).toBe(0xbf9cf968);
		expect(shardOf("asset-1", 16)).toBe(shardOf("asset-1", 16));
	});

	it("spreads 16,000 asset ids within ±15 % of even over 16 shards", () => {
		const counts = new Array(16).fill(0);
		for (let i = 0; i < 16_000; i++) counts[shardOf(`asset-${i}`, 16)]++;
		for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
	});
});

describe("leaseFor", () => {
	const due = 1_000_000;
	it("nothing scheduled: no lease", () => expect(leaseFor(null, due)).toBeNull());
	it("a first lease is the due time plus one heartbeat", () =>
		expect(leaseFor(due, null)).toBe(due + HEARTBEAT_MS));
	it("a published lease that still covers the due time stands (no index write)", () => {
		expect(leaseFor(due + 60_000, due + HEARTBEAT_MS)).toBe(due + HEARTBEAT_MS);
		expect(leaseFor(due, due)).toBe(due);
	});
	it("a due time past the lease renews it", () =>
		expect(leaseFor(due + 1, due)).toBe(due + 1 + HEARTBEAT_MS));
	it("a lease far later than the due time is tightened", () => {
		expect(leaseFor(due, due + 2 * HEARTBEAT_MS + 1)).toBe(due + HEARTBEAT_MS);
	});
	it("a check every 60 s rewrites the lease about once per heartbeat, never lets it fall behind", () => {
		let published: number | null = null;
		let writes = 0;
		for (let t = 0; t < 60 * 60_000; t += 60_000) {
			const next = leaseFor(t, published);
			expect(next).not.toBeNull();
			expect(next as number).toBeGreaterThanOrEqual(t);
			expect((next as number) - t).toBeLessThanOrEqual(2 * HEARTBEAT_MS);
			if (next !== published) writes++;
			published = next;
		}
		expect(writes).toBeLessThanOrEqual(60 / 5 + 1);
	});
});
