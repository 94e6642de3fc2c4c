// The delivery retry policy of SPEC §4 as a pure function.
import { describe, expect, it } from "vitest";
import { maxAttempts, planNextAttempt } from "../../src/delivery/retry-policy";

const schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];
const status = (s: number, retryAfterMs: number | null = null) => ({
	kind: "response" as const,
	status: s,
	retryAfterMs,
});

describe("delivery policy", () => {
	it("any 2xx is delivered", () => {
		for (const s of [200, 201, 202, 204, 299])
			expect(planNextAttempt(1, status(s), schedule, 0.5)).toEqual({ kind: "delivered" });
	});

	it("410 cancels", () => {
		expect(planNextAttempt(1, status(410), schedule, 0.5)).toEqual({ kind: "gone" });
	});

	it("3xx, 4xx, 5xx and network errors retry on the schedule", () => {
		for (const r of [
			status(301),
			status(400),
			status(404),
			status(500),
			status(503),
			{ kind: "error" as const, error: "refused" },
		]) {
			expect(planNextAttempt(1, r, schedule, 0.5)).toEqual({ kind: "retry", delayMs: 5000 });
			expect(planNextAttempt(2, r, schedule, 0.5)).toEqual({ kind: "retry", delayMs: 300_000 });
		}
	});

	it("jitters retries by ±10 %", () => {
		const lo = planNextAttempt(3, status(500), schedule, 0);
		const hi = planNextAttempt(3, status(500), schedule, 0.999999);
		expect(lo).toEqual({ kind: "retry", delayMs: 1_620_000 });
		expect(hi).toEqual({ kind: "retry", delayMs: 1_980_000 });
	});

	it("Retry-After pushes the next attempt later, never earlier, and at most an hour", () => {
		expect(planNextAttempt(1, status(429, 120_000), schedule, 0.5)).toEqual({
			kind: "retry",
			delayMs: 120_000,
		});
		expect(planNextAttempt(2, status(429, 1000), schedule, 0.5)).toEqual({ kind: "retry", delayMs: 300_000 });
		expect(planNextAttempt(1, status(503, 86_400_000), schedule, 0.5)).toEqual({
			kind: "retry",
			delayMs: 3_600_000,
		});
	});

	it("gives up after the immediate attempt plus one per schedule entry", () => {
		expect(maxAttempts(schedule)).toBe(8);
		expect(planNextAttempt(7, status(500), schedule, 0.5).kind).toBe("retry");
		expect(planNextAttempt(8, status(500), schedule, 0.5)).toEqual({ kind: "exhausted" });
		expect(planNextAttempt(1, status(500), [], 0.5)).toEqual({ kind: "exhausted" });
	});
});
