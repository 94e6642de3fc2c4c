// The poll schedule of SPEC §5 as pure functions: growth, cap, jitter, and every upstream answer.
import { describe, expect, it } from "vitest";
import { jitter } from "../../src/core/jitter";
import type { CheckOutcome } from "../../src/crun/classify";
import {
	initialPollState,
	MAINTENANCE_WAIT_MS,
	type PollSettings,
	planNextCheck,
	pollInterval,
} from "../../src/polling/schedule";

const s: PollSettings = { initialMs: 2000, maxMs: 60_000, backoff: 1.5 };
const processing: CheckOutcome = {
	kind: "ok",
	asset: {
		status: "Processing",
		name: null,
		assetType: null,
		createTime: null,
		updateTime: null,
		data: {},
		message: "success",
	},
};
const T0 = 1_800_000_000_000;

describe("poll intervals", () => {
	it("grow by POLL_BACKOFF from POLL_INITIAL_MS and stop at POLL_MAX_MS", () => {
		const seq = Array.from({ length: 12 }, (_, k) => pollInterval(k, s));
		expect(seq.slice(0, 4)).toEqual([2000, 3000, 4500, 6750]);
		expect(seq.at(-1)).toBe(60_000);
		for (let i = 1; i < seq.length; i++) expect(seq[i]).toBeGreaterThanOrEqual(seq[i - 1] as number);
	});

	it("are jittered by at most ±10 %", () => {
		expect(jitter(10_000, 0)).toBe(9000);
		expect(jitter(10_000, 0.999999)).toBe(11_000);
		expect(jitter(10_000, 0.5)).toBe(10_000);
	});

	it("advance one step per Processing answer", () => {
		let state = initialPollState();
		const delays: number[] = [];
		for (let i = 0; i < 3; i++) {
			const plan = planNextCheck(state, processing, T0, s, 0.5);
			if (plan.kind !== "again") throw new Error(plan.kind);
			delays.push(plan.delayMs);
			state = plan.state;
		}
		expect(delays).toEqual([2000, 3000, 4500]);
	});
});

describe("what each answer does to the schedule", () => {
	const at = (step: number) => ({ ...initialPollState(), step });

	it("Active and Failed stop polling", () => {
		for (const status of ["Active", "Failed"]) {
			const plan = planNextCheck(
				at(3),
				{ kind: "ok", asset: { ...processing.asset, status } } as CheckOutcome,
				T0,
				s,
				0.5,
			);
			expect(plan).toEqual({ kind: "terminal" });
		}
	});

	it("an unknown Status is not terminal", () => {
		const plan = planNextCheck(
			at(0),
			{ kind: "ok", asset: { ...processing.asset, status: "Weird" } } as CheckOutcome,
			T0,
			s,
			0.5,
		);
		expect(plan.kind).toBe("again");
	});

	it("transient trouble keeps the schedule growing", () => {
		const plan = planNextCheck(at(2), { kind: "transient", error: "upstream 500" }, T0, s, 0.5);
		expect(plan).toMatchObject({ kind: "again", delayMs: 4500, state: { step: 3 } });
	});

	it("429 honours Retry-After, else waits max(2 × interval, POLL_MAX_MS)", () => {
		expect(
			planNextCheck(at(0), { kind: "rate_limited", error: "", retryAfterMs: 90_000 }, T0, s, 0),
		).toMatchObject({ delayMs: 90_000 });
		expect(
			planNextCheck(at(0), { kind: "rate_limited", error: "", retryAfterMs: null }, T0, s, 0),
		).toMatchObject({ delayMs: 60_000 });
		const late = planNextCheck(
			at(20),
			{ kind: "rate_limited", error: "", retryAfterMs: null },
			T0,
			{ ...s, maxMs: 50_000 },
			0,
		);
		expect(late).toMatchObject({ delayMs: 100_000 });
		// A Retry-After of a day is capped at an hour.
		expect(
			planNextCheck(at(0), { kind: "rate_limited", error: "", retryAfterMs: 86_400_000 }, T0, s, 0),
		).toMatchObject({ delayMs: 3_600_000 });
	});

	it("455 waits at least five minutes", () => {
		const plan = planNextCheck(at(0), { kind: "maintenance", error: "", retryAfterMs: null }, T0, s, 0.9);
		expect(plan.kind).toBe("again");
		if (plan.kind === "again") expect(plan.delayMs).toBeGreaterThanOrEqual(MAINTENANCE_WAIT_MS);
	});

	it("401/402 keep watching at POLL_MAX_MS and never expire", () => {
		let state = initialPollState();
		for (let i = 0; i < 50; i++) {
			const plan = planNextCheck(state, { kind: "operator", code: 402, error: "" }, T0 + i * 60_000, s, 0.5);
			expect(plan).toMatchObject({ kind: "again", delayMs: 60_000 });
			if (plan.kind === "again") state = plan.state;
		}
	});

	it("404 expires only after three in a row spanning at least 60 s", () => {
		const nf: CheckOutcome = { kind: "not_found", error: "upstream 404" };
		let state = initialPollState();
		const p1 = planNextCheck(state, nf, T0, s, 0.5);
		if (p1.kind !== "again") throw new Error("first 404 must not expire");
		state = p1.state;
		const p2 = planNextCheck(state, nf, T0 + 2000, s, 0.5);
		if (p2.kind !== "again") throw new Error("second 404 must not expire");
		state = p2.state;
		// Third 404, but only 5 s after the first: not yet.
		const p3 = planNextCheck(state, nf, T0 + 5000, s, 0.5);
		expect(p3.kind).toBe("again");
		if (p3.kind === "again") state = p3.state;
		expect(planNextCheck(state, nf, T0 + 60_000, s, 0.5)).toEqual({ kind: "expire", reason: "not_found" });
	});

	it("a found answer between 404s starts the count again", () => {
		const nf: CheckOutcome = { kind: "not_found", error: "" };
		let state = initialPollState();
		for (const t of [0, 30_000]) {
			const p = planNextCheck(state, nf, T0 + t, s, 0.5);
			if (p.kind === "again") state = p.state;
		}
		const ok = planNextCheck(state, processing, T0 + 40_000, s, 0.5);
		if (ok.kind === "again") state = ok.state;
		expect(state.notFoundCount).toBe(0);
		const p = planNextCheck(state, nf, T0 + 70_000, s, 0.5);
		expect(p.kind).toBe("again");
	});

	it("422 expires at once", () => {
		expect(planNextCheck(initialPollState(), { kind: "invalid", error: "" }, T0, s, 0.5)).toEqual({
			kind: "expire",
			reason: "invalid_asset_id",
		});
	});
});
