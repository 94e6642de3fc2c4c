// wrangler.toml's own consistency, read through wrangler itself: the rate limit is configured twice
// (the binding's `simple.limit`, which counts blocks of REQUESTS_PER_CALL requests, and
// RATE_LIMIT_PER_MINUTE, which turns it on and names it in the 429), and the runtime cannot see the
// binding's number, so the two are checked here.

import { describe, expect, it } from "vitest";
import { unstable_readConfig } from "wrangler";
import { REQUESTS_PER_CALL } from "../../src/http/request-rate";

const config = unstable_readConfig({ config: "wrangler.toml" });

describe("wrangler.toml", () => {
	it("RATE_LIMIT_PER_MINUTE is 0 or the RATE_LIMITER binding's limit × REQUESTS_PER_CALL", () => {
		const limiter = config.ratelimits.find((r: { name: string }) => r.name === "RATE_LIMITER");
		expect(limiter, "a [[ratelimits]] binding named RATE_LIMITER").toBeDefined();
		// src/http/request-rate.ts computes Retry-After from a one-minute window.
		expect(limiter?.simple.period).toBe(60);
		const perMinute = Number(config.vars.RATE_LIMIT_PER_MINUTE);
		expect([0, (limiter?.simple.limit ?? Number.NaN) * REQUESTS_PER_CALL]).toContain(perMinute);
	});
});
