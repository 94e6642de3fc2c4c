// The list cursor: a round trip, the refusal of anything this service did not issue, and the order.
import { describe, expect, it } from "vitest";
import { compareListPosition, decodeCursor, encodeCursor } from "../../src/watch-index/cursor";

describe("list cursor", () => {
	it("round-trips a position", () => {
		const p = { created_at: 2_111_111_111_111, id: "w_abcdefghijklmnopqrst_YXNzZXQ" };
		expect(decodeCursor(encodeCursor(p))).toEqual(p);
		expect(encodeCursor(p)).toMatch(/^[A-Za-z0-9_-]+$/);
	});
	it.each([
		"",
		"!!!",
		"bm90IGpzb24",
		encodeCursor({ created_at: 1, id: "" }),
		btoa(JSON.stringify([1.5, "x"])),
		btoa("[1]"),
	])("refuses %j", (c) => expect(decodeCursor(c)).toBeNull());
	it("orders by created_at, then id", () => {
		expect(compareListPosition({ created_at: 1, id: "b" }, { created_at: 2, id: "a" })).toBeLessThan(0);
		expect(compareListPosition({ created_at: 2, id: "a" }, { created_at: 2, id: "b" })).toBeLessThan(0);
		expect(compareListPosition({ created_at: 2, id: "a" }, { created_at: 2, id: "a" })).toBe(0);
	});
});
