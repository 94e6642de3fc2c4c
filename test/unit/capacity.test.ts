// How much one sweep run may do: the per-shard cap within the Workers subrequest budget.
import { describe, expect, it } from "vitest";
import { perShardCap, SWEEP_SUBREQUEST_BUDGET } from "../../src/sweep/capacity";

describe("perShardCap", () => {
	it("keeps shard queries + asset calls within the budget", () => {
		for (const shards of [1, 16, 64, 128, 256]) {
			const cap = perShardCap(shards);
			expect(cap).toBeGreaterThanOrEqual(1);
			expect(shards + shards * cap).toBeLessThanOrEqual(Math.max(SWEEP_SUBREQUEST_BUDGET, 2 * shards));
		}
		expect(perShardCap(16)).toBe(30);
	});
});
