// The receiver circuit's pure rules (src/receivers/circuit.ts): what each attempt's outcome does to
// an origin, what a failed probe does, and when a held delivery looks again on its own or gives up.
import { describe, expect, it } from "vitest";
import {
	afterAttempt,
	afterProbeFailure,
	type CircuitRow,
	holdCheckIn,
	holdExpired,
} from "../../src/receivers/circuit";

const S = { tripFailures: 3, probeMs: 60_000 };
const healthy: CircuitRow = {
	state: "healthy",
	failures: 0,
	last_error: null,
	last_error_at: null,
	last_success_at: null,
	paused_at: null,
	probe_at: null,
};
const fail = { ok: false, error: "receiver answered 503" } as const;

describe("afterAttempt", () => {
	it("counts failures as failing, and the tripFailures-th pauses with the first probe one interval on", () => {
		let row = healthy;
		const steps = [1, 2, 3].map((i) => {
			const step = afterAttempt(row, fail, 1000 * i, S);
			row = { ...row, ...step.set };
			return { state: row.state, failures: row.failures, paused: step.paused };
		});
		expect(steps).toEqual([
			{ state: "failing", failures: 1, paused: false },
			{ state: "failing", failures: 2, paused: false },
			{ state: "paused", failures: 3, paused: true },
		]);
		expect(row).toMatchObject({ paused_at: 3000, probe_at: 63_000, last_error: "receiver answered 503" });
	});

	it("a failure while paused counts but neither pauses again nor moves the probe", () => {
		const paused = { ...healthy, state: "paused" as const, failures: 3, paused_at: 1, probe_at: 60_001 };
		const step = afterAttempt(paused, fail, 5000, S);
		expect(step).toMatchObject({ paused: false, resumed: false, set: { failures: 4 } });
		expect(step.set.probe_at).toBeUndefined();
		expect(step.set.state).toBeUndefined();
	});

	it("any success makes it healthy; ending a pause says so", () => {
		const failing = { ...healthy, state: "failing" as const, failures: 2 };
		expect(afterAttempt(failing, { ok: true }, 9, S)).toMatchObject({
			resumed: false,
			set: { state: "healthy", failures: 0, last_success_at: 9 },
		});
		const paused = { ...failing, state: "paused" as const, paused_at: 1, probe_at: 2 };
		expect(afterAttempt(paused, { ok: true }, 9, S)).toMatchObject({
			resumed: true,
			set: { state: "healthy", paused_at: null, probe_at: null },
		});
	});

	it("a failed probe counts and sets the next probe one interval later", () => {
		const paused = { ...healthy, state: "paused" as const, failures: 3, probe_at: 100 };
		expect(afterProbeFailure(paused, "timed out", 200, S)).toEqual({
			failures: 4,
			last_error: "timed out",
			last_error_at: 200,
			probe_at: 60_200,
		});
	});
});

describe("a held delivery's own look-agains", () => {
	const span = 27.6 * 3_600_000;
	it("come two probe intervals after it began to wait, then as long again as it waited, at most an hour apart", () => {
		const since = 0;
		const times: number[] = [];
		let now = since;
		for (let i = 0; i < 10; i++) {
			now = holdCheckIn(since, now, 60_000, span);
			times.push(now / 1000);
		}
		expect(times).toEqual([120, 240, 480, 960, 1920, 3840, 7440, 11_040, 14_640, 18_240]);
	});

	it("never past the moment it must give up, which is the schedule's whole span", () => {
		expect(holdCheckIn(0, span - 1000, 60_000, span)).toBe(span);
		expect(holdExpired(0, span - 1, span)).toBe(false);
		expect(holdExpired(0, span, span)).toBe(true);
	});
});
