// Reading the settings: ALLOW_PRIVATE_CALLBACKS's three policies, and a bad value reported by
// name (never by value) while the public policy stays. Pure: parseConfig on plain objects.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config";
import { TEST_SECRETS } from "../support/secrets";

/** The bindings a deployment has beside its vars (the rate limiter's presence is checked too). */
const BINDINGS = { RATE_LIMITER: { limit: async () => ({ success: true }) } };

describe("ALLOW_PRIVATE_CALLBACKS", () => {
	it.each([
		[undefined, false],
		["", false],
		["false", false],
		["0", false],
		["true", true],
		["1", true],
		["loopback", "loopback"],
		[" loopback ", "loopback"],
	] as const)("%j reads as %j", (value, expected) => {
		const config = parseConfig({ ...BINDINGS, ...TEST_SECRETS, ALLOW_PRIVATE_CALLBACKS: value });
		expect(config.ALLOW_PRIVATE_CALLBACKS).toBe(expected);
		expect(config.invalid).toEqual([]);
	});

	it.each(["yes", "LOOPBACK", "local", "127.0.0.1"])(
		"%j is reported as invalid by name, and the public policy stays",
		(value) => {
			const config = parseConfig({ ...BINDINGS, ...TEST_SECRETS, ALLOW_PRIVATE_CALLBACKS: value });
			expect(config.ALLOW_PRIVATE_CALLBACKS).toBe(false);
			expect(config.invalid.map((i) => i.name)).toEqual(["ALLOW_PRIVATE_CALLBACKS"]);
			expect(JSON.stringify(config.invalid)).not.toContain(value);
		},
	);
});
