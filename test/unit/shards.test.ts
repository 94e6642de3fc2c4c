// Where an asset's index rows live and how fresh the index must be: a stable shard per asset that
// spreads evenly, and the heartbeat lease (never early, never much late, rarely rewritten).
import { describe, expect, it } from "vitest";
import { fnv1a } from "../../src/core/hash";
import { HEARTBEAT_MS, leaseFor, leaseRenewalDue, shardOf } from "../../src/watch-index/shards";

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

describe("the index lease", () => {
	const asset = "asset-lease-1";
	it("is never earlier than one heartbeat past the due time, nor more than two", () => {
		for (let due = 1_000_000; due < 1_000_000 + 3 * HEARTBEAT_MS; due += 7_919) {
			const lease = leaseFor(due, asset);
			expect(lease - due).toBeGreaterThan(HEARTBEAT_MS);
			expect(lease - due).toBeLessThanOrEqual(2 * HEARTBEAT_MS);
		}
	});
	it("is one value for every due time of a heartbeat period (no index write within it)", () => {
		const start = 5_000_000;
		const leases = new Set<number>();
		for (let t = start; t < start + 10 * HEARTBEAT_MS; t += 60_000) leases.add(leaseFor(t, asset));
		expect(leases.size).toBeGreaterThanOrEqual(10);
		expect(leases.size).toBeLessThanOrEqual(11);
	});
	it("a check every 60 s renews it about once per heartbeat, and it never falls behind", () => {
		let published: number | null = null;
		let renewals = 0;
		for (let t = 0; t < 4 * HEARTBEAT_MS; t += 60_000) {
			const due = t + 60_000;
			if (published === null || leaseRenewalDue(t, due, asset)) {
				published = leaseFor(due, asset);
				renewals++;
			}
			expect(published).toBeGreaterThanOrEqual(due);
		}
		expect(renewals).toBeLessThanOrEqual(4 + 1);
	});
	it("different assets renew at different moments", () => {
		const periods = new Set(Array.from({ length: 50 }, (_, i) => leaseFor(0, `asset-${i}`) % HEARTBEAT_MS));
		expect(periods.size).toBeGreaterThan(40);
	});
});
