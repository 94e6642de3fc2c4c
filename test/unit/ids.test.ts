// Identifiers and comparisons: a watch id names its asset and nothing else reads as one, and the
// constant-time comparison of digests answers exactly equality.
import { describe, expect, it } from "vitest";
import { assetOfWatchId, constantTimeEqual, newWatchId } from "../../src/core/ids";

describe("watch ids", () => {
	it("carry their asset id, and an id that is not one of ours names no asset", () => {
		for (const asset of ["a", "asset-20261128-7f3a", "x:y.z_9", "é".repeat(1)])
			expect(assetOfWatchId(newWatchId(asset))).toBe(/^[A-Za-z0-9._:-]+$/.test(asset) ? asset : null);
		for (const id of ["", "w_", "w_abc_YQ", `w_${"a".repeat(20)}_!!`, `x_${"a".repeat(20)}_YQ`])
			expect(assetOfWatchId(id)).toBeNull();
	});
});

describe("constantTimeEqual", () => {
	const d = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	it("is true for equal strings and false for any difference", () => {
		expect(constantTimeEqual(d, d)).toBe(true);
		expect(constantTimeEqual(d, `${d.slice(0, 63)}9`)).toBe(false);
		expect(constantTimeEqual(d, `0${d.slice(1)}`)).toBe(false);
		expect(constantTimeEqual(d, d.slice(0, 63))).toBe(false);
		expect(constantTimeEqual("", "")).toBe(true);
		expect(constantTimeEqual("", "a")).toBe(false);
	});
});
