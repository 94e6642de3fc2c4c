// Runtime faults: an alarm run that dies between sending a callback and recording it (a terminal
// event's first attempt, stored with its record, and a retry of one stored), an object
// evicted between steps, and clock jumps. Each ends with every owed callback delivered, at most
// duplicated under the same webhook-id, never lost. (An alarm whose retries ran out is healed by
// the cron sweep: test/sweep.)
import { evictDurableObject, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, dieDuringAlarm, step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();

type Watch = { id: string; state: string; delivery: { attempts: number; webhook_id: string } | null };
const getWatch = async (id: string) => json<Watch>(await call("GET", `/v1/watches/${id}`));

describe("crashes", () => {
	it("an alarm run that dies after sending and before recording sends again later: a duplicate, same webhook-id", async () => {
		const asset = unique("crash");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		// The receiver takes the callback, then the runtime dies before the answer is recorded.
		world.fakes.receiver(url, { hang: true }, 204);
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } }),
		);
		await dieDuringAlarm(world.vclock, stubOf(asset), () => world.fakes.deliveriesTo(url).length > 0);

		// Storage says: Active, and the watch still owed its event (sent before it was stored,
		// src/watcher/unsaved-events.ts). The lease runs out, the event is built again from the
		// terminal row and its watch's id, and sent again.
		expect((await json<{ status: string }>(await call("GET", `/v1/assets/${asset}`))).status).toBe("Active");
		const after = await getWatch(w.id);
		expect(after).toMatchObject({ state: "watching", delivery: null });
		await stepUntil(world.vclock, asset, async () => (await getWatch(w.id)).state === "delivered");
		const ds = world.fakes.deliveriesTo(url);
		expect(ds).toHaveLength(2);
		expect(ds[0]?.headers["webhook-id"]).toBe(ds[1]?.headers["webhook-id"]);
		expect(ds[0]?.body).toBe(ds[1]?.body);
	});

	it("a run that dies while retrying a stored event sends it again later, same webhook-id and body", async () => {
		const asset = unique("crash-retry");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		// The first attempt fails (its record stores the event); the retry is taken, then the runtime dies.
		world.fakes.receiver(url, 500, { hang: true }, 204);
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } }),
		);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length === 1);
		expect((await getWatch(w.id)).delivery?.attempts).toBe(1);
		await dieDuringAlarm(world.vclock, stubOf(asset), () => world.fakes.deliveriesTo(url).length >= 2);

		expect((await getWatch(w.id)).state).toBe("notifying");
		await stepUntil(world.vclock, asset, async () => (await getWatch(w.id)).state === "delivered");
		const ds = world.fakes.deliveriesTo(url);
		expect(ds).toHaveLength(3);
		expect(new Set(ds.map((d) => d.headers["webhook-id"])).size).toBe(1);
		expect(new Set(ds.map((d) => d.body)).size).toBe(1);
	});

	it("an alarm run that dies mid-check checks again once the lease runs out", async () => {
		const asset = unique("crash-check");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { hang: true }, { status: "Active" });
		await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } });
		await dieDuringAlarm(world.vclock, stubOf(asset), () => world.fakes.callsFor(asset) > 0);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect(world.fakes.callsFor(asset)).toBe(2);
	});

	it("an object evicted between every step still delivers exactly once", async () => {
		const asset = unique("evict");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" }, { status: "Processing" }, { status: "Active" });
		world.fakes.receiver(url, 500, 204);
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } }),
		);
		for (let i = 0; i < 10 && (await getWatch(w.id)).state !== "delivered"; i++) {
			await evictDurableObject(stubOf(asset)).catch(() => {});
			await step(world.vclock, asset);
		}
		expect((await getWatch(w.id)).state).toBe("delivered");
		expect(world.fakes.deliveriesTo(url)).toHaveLength(2);
	});
});

describe("the clock", () => {
	it("jumping forward by days: everything due runs in the next alarm, nothing is skipped", async () => {
		const asset = unique("jump");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Processing" }, { status: "Active" });
		world.fakes.receiver(url, 500, 204);
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } }),
		);
		await step(world.vclock, asset);
		world.vclock.advance(3_600_000);
		await step(world.vclock, asset);
		expect((await getWatch(w.id)).state).toBe("notifying");
		world.vclock.advance(5 * 86_400_000);
		await step(world.vclock, asset);
		expect((await getWatch(w.id)).state).toBe("delivered");
	});

	it("an alarm that fires early (clock behind) does nothing and keeps its time", async () => {
		const asset = unique("early");
		world.fakes.script(asset, { status: "Processing" });
		await call("POST", "/v1/watches", {
			body: { asset_id: asset, callback_url: `https://r.example/${asset}` },
		});
		await step(world.vclock, asset);
		const due = (await alarmAt(asset)) as number;
		world.vclock.t = due - 60_000;
		await runDurableObjectAlarm(stubOf(asset));
		expect(world.fakes.callsFor(asset)).toBe(1);
		expect(await alarmAt(asset)).toBe(due);
		await step(world.vclock, asset);
		expect(world.fakes.callsFor(asset)).toBe(2);
	});
});
