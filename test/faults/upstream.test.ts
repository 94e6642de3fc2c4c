// Every upstream fault of SPEC §1/§5, one alarm step each: the watch stays alive or ends as the
// spec says, `last_error` is visible on the asset, and the next check lands where the spec puts it.
import { describe, expect, it } from "vitest";
import { call, json, type UpstreamAnswer, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, step } from "../support/steps";

const world = useFakeWorld();

const envelope = (code: number, message = "error", data: unknown = null) =>
	JSON.stringify({ code, message, data });
const activeData = {
	AssetId: "x",
	Name: "n",
	AssetType: "Image",
	Status: "Active",
	CreateTime: 1795860000,
	UpdateTime: 1795860000,
};
type Asset = { status: string; last_error: string | null; next_check_at: string | null; checks: number };
type Watch = { id: string; state: string; delivery: { event_type: string } | null };

// With jitter pinned to the middle (VirtualClock), the first interval is exactly POLL_INITIAL_MS.
const FIRST = 2000;
const cases: {
	name: string;
	answer: UpstreamAnswer;
	state: string;
	error: RegExp | null;
	delay: [number, number] | null;
	event?: string;
}[] = [
	{
		name: "401 bad key",
		answer: { http: 401, body: envelope(401, "invalid api key") },
		state: "watching",
		error: /401/,
		delay: [60_000, 60_000],
	},
	{
		name: "402 no credits (body code under 200)",
		answer: { http: 200, body: envelope(402, "insufficient credits") },
		state: "watching",
		error: /402/,
		delay: [60_000, 60_000],
	},
	{
		name: "a single 404",
		answer: { http: 404, body: envelope(404, "not found") },
		state: "watching",
		error: /404/,
		delay: [FIRST, FIRST],
	},
	{
		name: "422 invalid parameters",
		answer: { http: 422, body: envelope(422, "invalid asset_id") },
		state: "delivered",
		error: /422/,
		delay: null,
		event: "watch.expired",
	},
	{
		name: "429 without Retry-After",
		answer: { http: 429, body: envelope(429, "slow down") },
		state: "watching",
		error: /429/,
		delay: [60_000, 66_000],
	},
	{
		name: "429 with Retry-After seconds",
		answer: { http: 429, body: "", headers: { "retry-after": "120" } },
		state: "watching",
		error: /429/,
		delay: [120_000, 132_000],
	},
	{
		name: "455 maintenance",
		answer: { http: 455, body: envelope(455, "maintenance") },
		state: "watching",
		error: /455/,
		delay: [300_000, 330_000],
	},
	{
		name: "500 server error",
		answer: { http: 500, body: envelope(500, "boom") },
		state: "watching",
		error: /500/,
		delay: [FIRST, FIRST],
	},
	{
		name: "501 generation failed",
		answer: { http: 200, body: envelope(501, "generation failed") },
		state: "watching",
		error: /501/,
		delay: [FIRST, FIRST],
	},
	{
		name: "505 feature disabled",
		answer: { http: 505, body: envelope(505, "disabled") },
		state: "watching",
		error: /505/,
		delay: [FIRST, FIRST],
	},
	{
		name: "HTTP 500 with a success body",
		answer: { http: 500, body: envelope(200, "success", activeData) },
		state: "watching",
		error: /500/,
		delay: [FIRST, FIRST],
	},
	{
		name: "HTTP 200 with body code 500",
		answer: { http: 200, body: envelope(500, "internal") },
		state: "watching",
		error: /500/,
		delay: [FIRST, FIRST],
	},
	{
		name: "an HTML page",
		answer: { http: 200, body: "<!doctype html><h1>Bad gateway</h1>" },
		state: "watching",
		error: /unreadable/,
		delay: [FIRST, FIRST],
	},
	{
		name: "an HTML error page",
		answer: { http: 502, body: "<html>502</html>" },
		state: "watching",
		error: /502/,
		delay: [FIRST, FIRST],
	},
	{
		name: "truncated JSON",
		answer: { http: 200, body: envelope(200, "success", activeData).slice(0, 50) },
		state: "watching",
		error: /unreadable/,
		delay: [FIRST, FIRST],
	},
	{
		name: "JSON of the wrong shape",
		answer: { http: 200, body: JSON.stringify({ ok: true, items: [] }) },
		state: "watching",
		error: /no data/,
		delay: [FIRST, FIRST],
	},
	{
		name: "data without Status",
		answer: { http: 200, body: envelope(200, "success", { Name: "x" }) },
		state: "watching",
		error: /no Status/,
		delay: [FIRST, FIRST],
	},
	{
		name: "an unknown Status",
		answer: { status: "Archived" },
		state: "watching",
		error: /unknown upstream status/,
		delay: [FIRST, FIRST],
	},
	{
		name: "a reset connection",
		answer: { throws: "Network connection lost." },
		state: "watching",
		error: /unreachable/,
		delay: [FIRST, FIRST],
	},
	{
		name: "a hang past the timeout",
		answer: { hang: true },
		state: "watching",
		error: /timed out/,
		delay: [FIRST, FIRST],
	},
];

describe("upstream faults", () => {
	it.each(cases)("$name", async ({ answer, state, error, delay, event }) => {
		const asset = unique("up");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, answer, { status: "Processing" });
		const reg = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } }),
		);
		await step(world.vclock, asset);
		const checkedAt = world.vclock.t;

		const watch = await json<Watch>(await call("GET", `/v1/watches/${reg.id}`));
		expect(watch.state).toBe(state);
		if (event) expect(watch.delivery?.event_type).toBe(event);
		const a = await json<Asset>(await call("GET", `/v1/assets/${asset}`));
		expect(a.checks).toBe(1);
		if (error) expect(a.last_error).toMatch(error);
		// The stored answer never leaks the API key into what users see.
		expect(JSON.stringify(a)).not.toContain("test-crun-key");
		if (delay) {
			const next = Date.parse(a.next_check_at as string) - checkedAt;
			expect(next).toBeGreaterThanOrEqual(delay[0]);
			expect(next).toBeLessThanOrEqual(delay[1]);
			expect(await alarmAt(asset)).toBe(Date.parse(a.next_check_at as string));
			// And the watch recovers: the next answer is read normally.
			await step(world.vclock, asset);
			const after = await json<Asset>(await call("GET", `/v1/assets/${asset}`));
			expect(after).toMatchObject({ status: "Processing", checks: 2, last_error: null });
		} else {
			expect(a.next_check_at).toBeNull();
		}
	});

	it("429 with an HTTP-date Retry-After waits until that date", async () => {
		const asset = unique("date");
		const at = new Date(Math.ceil((world.vclock.t + 600_000) / 1000) * 1000);
		world.fakes.script(
			asset,
			{ http: 429, body: "", headers: { "retry-after": at.toUTCString() } },
			{ status: "Processing" },
		);
		await call("POST", "/v1/watches", {
			body: { asset_id: asset, callback_url: `https://r.example/${asset}` },
		});
		await step(world.vclock, asset);
		const a = await json<Asset>(await call("GET", `/v1/assets/${asset}`));
		expect(Date.parse(a.next_check_at as string)).toBeGreaterThanOrEqual(at.getTime());
	});

	it("401/402 never expire the watch, however long they last", async () => {
		const asset = unique("key");
		world.fakes.script(asset, { http: 401, body: envelope(401, "bad key") });
		const reg = await json<Watch>(
			await call("POST", "/v1/watches", {
				body: { asset_id: asset, callback_url: `https://r.example/${asset}` },
			}),
		);
		for (let i = 0; i < 30; i++) await step(world.vclock, asset);
		expect(world.fakes.callsFor(asset)).toBe(30);
		expect((await json<Watch>(await call("GET", `/v1/watches/${reg.id}`))).state).toBe("watching");
	});

	it("Active followed by Processing: terminal stays terminal", async () => {
		const asset = unique("flip");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" }, { status: "Processing" });
		await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } });
		await step(world.vclock, asset);
		world.vclock.advance(10_000);
		// A forced check sees "Processing" now; the asset stays Active and nothing is re-sent.
		const res = await call("GET", `/v1/assets/${asset}?refresh=true`);
		expect(await json<Asset>(res)).toMatchObject({ status: "Active", checks: 2 });
		expect(world.fakes.callsFor(asset)).toBe(2);
		expect(world.fakes.deliveriesTo(url)).toHaveLength(1);
		expect(await alarmAt(asset)).toBeNull();
	});
});
