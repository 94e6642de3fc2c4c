// The asset Durable Object stepped alarm by alarm: polling through Processing to a terminal
// status, signed callbacks that the Standard Webhooks reference verifier accepts, retries on
// the schedule, 410, exhaustion and redelivery, several watches on one poll loop.
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { call, json, unique, useFakeWorld, WEBHOOK_SECRET } from "../support/fakes";
import { alarmAt, settled, step, stepUntil } from "../support/steps";

const world = useFakeWorld();

type Watch = {
	id: string;
	state: string;
	delivery: {
		attempts: number;
		webhook_id: string;
		recent_attempts: { status: number }[];
		last_status: number | null;
	} | null;
};

async function register(
	assetId: string,
	callbackUrl: string,
	extra: Record<string, unknown> = {},
): Promise<Watch> {
	const res = await call("POST", "/v1/watches", {
		body: { asset_id: assetId, callback_url: callbackUrl, ...extra },
	});
	expect(res.status).toBe(201);
	return json<Watch>(res);
}

const getWatch = async (id: string) => json<Watch>(await call("GET", `/v1/watches/${id}`));

/** The reference verifier, run at the moment of the attempt (the virtual clock is years ahead). */
function verify(d: { body: string; headers: Record<string, string> }) {
	const now = vi.spyOn(Date, "now").mockReturnValue(Number(d.headers["webhook-timestamp"]) * 1000);
	try {
		return new Webhook(WEBHOOK_SECRET).verify(d.body, d.headers) as {
			type: string;
			data: Record<string, unknown>;
		};
	} finally {
		now.mockRestore();
	}
}

describe("polling to a terminal status", () => {
	it("Processing → Active: one verified callback with the SPEC body", async () => {
		const asset = unique("act");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" }, { status: "Processing" }, { status: "Active" });
		const w = await register(asset, url, { metadata: { job: 42 } });

		const steps = await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect(steps).toBe(3);
		expect(world.fakes.callsFor(asset)).toBe(3);

		const [d] = world.fakes.deliveriesTo(url);
		if (!d) throw new Error("no delivery");
		const event = verify(d);
		expect(event.type).toBe("asset.active");
		expect(d.json).toMatchObject({
			type: "asset.active",
			data: {
				watch_id: w.id,
				asset_id: asset,
				status: "Active",
				name: `name-of-${asset}`,
				asset_type: "Video",
				create_time: "2026-11-28T10:00:00.000Z",
				update_time: "2026-11-28T10:00:00.000Z",
				metadata: { job: 42 },
				upstream: { AssetId: asset, Status: "Active" },
				upstream_message: "success",
				reason: null,
			},
		});
		expect(d.headers["content-type"]).toBe("application/json");
		expect(d.headers["user-agent"]).toMatch(/^seedance-asset-watcher\/\d+\.\d+\.\d+/);
		expect(d.headers["webhook-id"]).toMatch(/^msg_/);
		expect(Number(d.headers["webhook-timestamp"])).toBe(Math.floor(world.vclock.t / 1000));

		const after = await getWatch(w.id);
		expect(after.state).toBe("delivered");
		expect(after.delivery).toMatchObject({
			attempts: 1,
			last_status: 204,
			webhook_id: d.headers["webhook-id"],
		});
		// Nothing left to do: polling stopped; the last lease wakes the object once, for nothing.
		expect(await settled(world.vclock, asset)).toBe(true);
		expect(world.fakes.callsFor(asset)).toBe(3);
		expect(world.fakes.deliveriesTo(url)).toHaveLength(1);
		const status = await json(await call("GET", `/v1/assets/${asset}`));
		expect(status).toMatchObject({
			status: "Active",
			watched: true,
			checks: 3,
			next_check_at: null,
			last_error: null,
		});
	});

	it("Processing → Failed: the upstream's error and message pass through", async () => {
		const asset = unique("fail");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(
			asset,
			{ status: "Processing" },
			{ status: "Failed", data: { ErrorMessage: "unsupported codec" }, message: "asset failed" },
		);
		await register(asset, url);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		const [d] = world.fakes.deliveriesTo(url);
		if (!d) throw new Error("no delivery");
		expect(verify(d).type).toBe("asset.failed");
		expect(d.json.data).toMatchObject({
			status: "Failed",
			upstream: { ErrorMessage: "unsupported codec", Status: "Failed" },
			upstream_message: "asset failed",
		});
	});

	it("checks at growing intervals: 2 s, 3 s, 4.5 s …", async () => {
		const asset = unique("gap");
		world.fakes.script(asset, { status: "Processing" });
		await register(asset, `https://receiver.example/${asset}`);
		for (let i = 0; i < 5; i++) await step(world.vclock, asset);
		const times = world.fakes.upstreamCalls.filter((c) => c.assetId === asset).map((c) => c.at);
		const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
		expect(gaps).toEqual([2000, 3000, 4500, 6750]);
	});
});

describe("delivery retries", () => {
	it("a receiver that fails twice then succeeds gets the same webhook-id and bytes each time", async () => {
		const asset = unique("retry");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 500, 503, 200);
		const w = await register(asset, url);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length >= 3);
		const ds = world.fakes.deliveriesTo(url);
		expect(ds).toHaveLength(3);
		expect(new Set(ds.map((d) => d.headers["webhook-id"])).size).toBe(1);
		expect(new Set(ds.map((d) => d.body)).size).toBe(1);
		for (const d of ds) expect(verify(d).type).toBe("asset.active");
		// Second attempt 5 s after the first, third 300 s after the second (jitter pinned to 0).
		const ts = ds.map((d) => Number(d.headers["webhook-timestamp"]));
		expect([ts[1]! - ts[0]!, ts[2]! - ts[1]!]).toEqual([5, 300]);
		const after = await getWatch(w.id);
		expect(after.state).toBe("delivered");
		expect(after.delivery?.attempts).toBe(3);
		expect(after.delivery?.recent_attempts.map((a) => a.status)).toEqual([200, 503, 500]);
	});

	it("410 cancels the watch: no further attempts", async () => {
		const asset = unique("gone");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 410);
		const w = await register(asset, url);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect((await getWatch(w.id)).state).toBe("cancelled");
		expect(await settled(world.vclock, asset)).toBe(true);
		expect(world.fakes.deliveriesTo(url)).toHaveLength(1);
	});

	it("after the last retry the watch is failed, and redeliver sends the same event again", async () => {
		const asset = unique("exhaust");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 500);
		const w = await register(asset, url);
		await stepUntil(world.vclock, asset, async () => (await getWatch(w.id)).state === "failed");
		expect(world.fakes.deliveriesTo(url)).toHaveLength(8);
		expect(await settled(world.vclock, asset)).toBe(true);
		expect(world.fakes.deliveriesTo(url)).toHaveLength(8);

		world.fakes.receiver(url, 204);
		const res = await call("POST", `/v1/watches/${w.id}/redeliver`);
		expect(res.status).toBe(202);
		await stepUntil(world.vclock, asset, async () => (await getWatch(w.id)).state === "delivered");
		const ds = world.fakes.deliveriesTo(url);
		expect(ds).toHaveLength(9);
		expect(ds[8]?.headers["webhook-id"]).toBe(ds[0]?.headers["webhook-id"]);
		expect(ds[8]?.body).toBe(ds[0]?.body);
	});
});

describe("several watches on one asset", () => {
	it("share one poll loop and each get one callback", async () => {
		const asset = unique("multi");
		world.fakes.script(asset, { status: "Processing" }, { status: "Processing" }, { status: "Active" });
		const urls = [1, 2, 3].map((i) => `https://receiver${i}.example/${asset}`);
		for (const u of urls) await register(asset, u);
		await stepUntil(world.vclock, asset, () => urls.every((u) => world.fakes.deliveriesTo(u).length > 0));
		expect(world.fakes.callsFor(asset)).toBe(3);
		for (const u of urls) expect(world.fakes.deliveriesTo(u)).toHaveLength(1);
		const ids = urls.map((u) => world.fakes.deliveriesTo(u)[0]?.headers["webhook-id"]);
		expect(new Set(ids).size).toBe(3);
	});

	it("a watch registered on an asset already terminal is notified at once, with no upstream call", async () => {
		const asset = unique("late");
		world.fakes.script(asset, { status: "Active" });
		await register(asset, `https://a.example/${asset}`);
		await stepUntil(
			world.vclock,
			asset,
			() => world.fakes.deliveriesTo(`https://a.example/${asset}`).length > 0,
		);
		const calls = world.fakes.callsFor(asset);
		const late = `https://b.example/${asset}`;
		await register(asset, late);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(late).length > 0);
		expect(world.fakes.callsFor(asset)).toBe(calls);
		expect(verify(world.fakes.deliveriesTo(late)[0]!).type).toBe("asset.active");
	});

	it("a watch that did not ask for the event is skipped", async () => {
		const asset = unique("skip");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		const w = await register(asset, url, { events: ["asset.failed"] });
		await step(world.vclock, asset);
		expect((await getWatch(w.id)).state).toBe("skipped");
		expect(world.fakes.deliveriesTo(url)).toHaveLength(0);
	});
});

describe("giving up", () => {
	it("three 404s over at least 60 s → watch.expired not_found", async () => {
		const asset = unique("missing");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, {
			http: 404,
			body: JSON.stringify({ code: 404, message: "not found", data: null }),
		});
		const w = await register(asset, url);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		const [d] = world.fakes.deliveriesTo(url);
		expect(d?.json).toMatchObject({
			type: "watch.expired",
			data: { reason: "not_found", status: "Unknown" },
		});
		const calls = world.fakes.upstreamCalls.filter((c) => c.assetId === asset);
		expect(calls.length).toBeGreaterThanOrEqual(3);
		expect(calls.at(-1)!.at - calls[0]!.at).toBeGreaterThanOrEqual(60_000);
		expect((await getWatch(w.id)).state).toBe("delivered");
	});

	it("422 → watch.expired invalid_asset_id at once", async () => {
		const asset = unique("bad");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, {
			http: 200,
			body: JSON.stringify({ code: 422, message: "invalid asset id", data: null }),
		});
		await register(asset, url);
		await step(world.vclock, asset);
		expect(world.fakes.callsFor(asset)).toBe(1);
		expect(world.fakes.deliveriesTo(url)[0]?.json).toMatchObject({
			type: "watch.expired",
			data: { reason: "invalid_asset_id" },
		});
	});

	it("past WATCH_TTL_S → watch.expired ttl, and polling stops", async () => {
		const asset = unique("ttl");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" });
		const w = await register(asset, url);
		await step(world.vclock, asset);
		world.vclock.advance(172_800_000);
		await step(world.vclock, asset);
		expect(world.fakes.deliveriesTo(url)[0]?.json).toMatchObject({
			type: "watch.expired",
			data: { reason: "ttl", status: "Processing" },
		});
		expect((await getWatch(w.id)).state).toBe("delivered");
		const calls = world.fakes.callsFor(asset);
		expect(await settled(world.vclock, asset)).toBe(true);
		expect(world.fakes.callsFor(asset)).toBe(calls);
	});

	it("cancel stops polling when no live watch is left", async () => {
		const asset = unique("cancel");
		world.fakes.script(asset, { status: "Processing" });
		const w = await register(asset, `https://receiver.example/${asset}`);
		await step(world.vclock, asset);
		const res = await call("DELETE", `/v1/watches/${w.id}`);
		expect(res.status).toBe(200);
		expect((await json<Watch>(res)).state).toBe("cancelled");
		expect(await alarmAt(asset)).toBeNull();
	});
});
