// Registration under concurrency and at every point of an asset's life: identical registrations
// at once, an asset mid-delivery or already terminal, cancel during delivery, callback headers,
// and a batch of 100 with valid and invalid items mixed.
import { runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, json, unique, useFakeWorld } from "../support/fakes";
import { alarmAt, step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();

type Watch = {
	id: string;
	state: string;
	callback_header_names: string[];
	delivery: { attempts: number } | null;
};
const getWatch = async (id: string) => json<Watch>(await call("GET", `/v1/watches/${id}`));
const register = (asset: string, url: string, extra: Record<string, unknown> = {}) =>
	call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url, ...extra } });

describe("registration", () => {
	it("20 identical registrations at once make one watch", async () => {
		const asset = unique("same");
		const url = `https://receiver.example/${asset}`;
		const answers = await Promise.all(Array.from({ length: 20 }, () => register(asset, url)));
		const statuses = answers.map((r) => r.status).sort();
		expect(statuses.filter((s) => s === 201)).toHaveLength(1);
		expect(statuses.filter((s) => s === 200)).toHaveLength(19);
		const ids = new Set(await Promise.all(answers.map(async (r) => (await json<Watch>(r)).id)));
		expect(ids.size).toBe(1);
	});

	it("on an asset mid-delivery: the new watch is notified at once, with no upstream call", async () => {
		const asset = unique("mid");
		const first = `https://one.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(first, 500);
		await register(asset, first);
		await step(world.vclock, asset);
		const calls = world.fakes.callsFor(asset);
		const second = `https://two.example/${asset}`;
		const w = await json<Watch>(await register(asset, second));
		expect(w.state).toBe("notifying");
		await runDurableObjectAlarm(stubOf(asset));
		expect(world.fakes.deliveriesTo(second)).toHaveLength(1);
		expect((await getWatch(w.id)).state).toBe("delivered");
		expect(world.fakes.callsFor(asset)).toBe(calls);
	});

	it("cancel during delivery: no further attempts", async () => {
		const asset = unique("cxl");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 500);
		const w = await json<Watch>(await register(asset, url));
		await step(world.vclock, asset);
		expect((await getWatch(w.id)).state).toBe("notifying");
		await call("DELETE", `/v1/watches/${w.id}`);
		expect(await alarmAt(asset)).toBeNull();
		world.vclock.advance(86_400_000);
		await runDurableObjectAlarm(stubOf(asset));
		expect(world.fakes.deliveriesTo(url)).toHaveLength(1);
		expect((await getWatch(w.id)).state).toBe("cancelled");
	});

	it("cancel while an attempt is in flight: the answer does not revive the watch", async () => {
		const asset = unique("inflight");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, { hang: true });
		const w = await json<Watch>(await register(asset, url));
		world.vclock.t = (await alarmAt(asset)) as number;
		const run = runDurableObjectAlarm(stubOf(asset));
		while (world.fakes.deliveriesTo(url).length === 0) await new Promise((r) => setTimeout(r, 5));
		await call("DELETE", `/v1/watches/${w.id}`);
		await run;
		const after = await getWatch(w.id);
		expect(after.state).toBe("cancelled");
		expect(after.delivery?.attempts).toBe(1);
		expect(await alarmAt(asset)).toBeNull();
	});

	it("callback_headers reach the receiver and are never echoed", async () => {
		const asset = unique("hdrs");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		const res = await register(asset, url, {
			callback_headers: { Authorization: "Bearer rcv-77", "X-Tenant": "t-9" },
		});
		const text = await res.text();
		expect(text).not.toContain("rcv-77");
		expect(text).not.toContain("t-9");
		const w = JSON.parse(text) as Watch;
		expect(w.callback_header_names.sort()).toEqual(["authorization", "x-tenant"]);
		await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length > 0);
		expect(world.fakes.deliveriesTo(url)[0]?.headers).toMatchObject({
			authorization: "Bearer rcv-77",
			"x-tenant": "t-9",
		});
		expect(JSON.stringify(await getWatch(w.id))).not.toContain("rcv-77");
	});

	it("a batch of 100, valid and invalid mixed, answers a result per item in order", async () => {
		const base = unique("b100");
		const items = Array.from({ length: 100 }, (_, i) =>
			i % 4 === 3
				? { asset_id: `${base}-${i}`, callback_url: "http://127.0.0.1/x" }
				: i % 4 === 2
					? { asset_id: `${base} ${i}`, callback_url: "https://r.example/x" }
					: { asset_id: `${base}-${i % 10}`, callback_url: `https://r.example/${i % 10}` },
		);
		const res = await call("POST", "/v1/watches/batch", { body: { watches: items } });
		expect(res.status).toBe(200);
		const { results } = await json<{
			results: { index: number; status: number; error?: { code: string } }[];
		}>(res);
		expect(results).toHaveLength(100);
		results.forEach((r, i) => {
			expect(r.index).toBe(i);
			if (i % 4 >= 2) expect(r).toMatchObject({ status: 400, error: { code: "invalid_request" } });
			else expect([200, 201]).toContain(r.status);
		});
		// Items 0,1 and 4,5 … repeat asset + URL pairs every 10: exactly one 201 per pair.
		expect(results.filter((r) => r.status === 201)).toHaveLength(10);
	});
});
