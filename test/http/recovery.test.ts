// Bulk recovery (`POST /v1/watches/redeliver`) and the receivers list (`GET /v1/receivers`) through
// the worker's fetch: what matches (state, the updated_at window, asset_id), the original webhook-id
// on every redelivered watch, pages and cursors, idempotence (a second call, two calls at once, a
// call repeated after dying half-way), tenancy, and every kind of bad input answered 400.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, json, TOKEN_B, unique, useFakeWorld } from "../support/fakes";
import { step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();

type Watch = {
	id: string;
	asset_id: string;
	state: string;
	updated_at: string;
	delivery: { attempts: number; webhook_id: string } | null;
};
type Bulk = { matched: number; redelivered: number; next_cursor: string | null };
type ErrorBody = { error: { code: string; message: string } };

const getWatch = async (id: string, token?: string) =>
	json<Watch>(await call("GET", `/v1/watches/${id}`, { token }));

/**
 * A watch whose delivery failed (one retry, 1 s later: its asset object runs with that schedule),
 * on its own origin so that no receiver circuit is involved. Its receiver is up afterwards.
 */
async function failedWatch(tag: string, token?: string): Promise<Watch & { url: string }> {
	const asset = unique(tag);
	const url = `https://${asset}.example/hook`;
	world.fakes.script(asset, { status: "Active" });
	world.fakes.receiver(url, 500, 500, 204);
	await runInDurableObject(stubOf(asset), (instance) => {
		const o = instance as unknown as { env: Env };
		o.env = { ...o.env, DELIVERY_SCHEDULE_S: "1" } as unknown as Env;
	});
	const w = await json<Watch>(
		await call("POST", "/v1/watches", { token, body: { asset_id: asset, callback_url: url } }),
	);
	await stepUntil(world.vclock, asset, async () => (await getWatch(w.id, token)).state === "failed");
	return { ...(await getWatch(w.id, token)), url };
}

const bulk = async (body: unknown, token?: string) => {
	const res = await call("POST", "/v1/watches/redeliver", { body, token });
	return { status: res.status, body: await json<Bulk & ErrorBody>(res) };
};

describe("POST /v1/watches/redeliver", () => {
	it("sends every failed watch of this token its event again, with its original webhook-id", async () => {
		const tag = unique("bulk");
		const failed = [await failedWatch(tag), await failedWatch(tag)];
		const r = await bulk({ asset_id: failed[0]?.asset_id });
		expect(r).toEqual({ status: 202, body: { matched: 1, redelivered: 1, next_cursor: null } });
		const all = await bulk({});
		// Every failed watch of the token (earlier tests' too) but the one already notifying.
		expect(all.body.redelivered).toBe(all.body.matched);
		for (const w of failed) {
			expect((await getWatch(w.id)).state).toBe("notifying");
			await stepUntil(world.vclock, w.asset_id, async () => (await getWatch(w.id)).state === "delivered");
			const ds = world.fakes.deliveriesTo(w.url);
			expect(ds).toHaveLength(3);
			expect(new Set(ds.map((d) => d.headers["webhook-id"]))).toEqual(new Set([w.delivery?.webhook_id]));
			expect(new Set(ds.map((d) => d.body)).size).toBe(1);
		}
	});

	it("a second call while they are in flight changes nothing, and two calls at once redeliver each watch once", async () => {
		const w = await failedWatch("twice");
		const [a, b] = await Promise.all([bulk({ asset_id: w.asset_id }), bulk({ asset_id: w.asset_id })]);
		expect((a?.body.redelivered ?? 0) + (b?.body.redelivered ?? 0)).toBe(1);
		expect(await bulk({ asset_id: w.asset_id })).toMatchObject({
			status: 202,
			body: { matched: 0, redelivered: 0 },
		});
		await step(world.vclock, w.asset_id);
		expect(world.fakes.deliveriesTo(w.url)).toHaveLength(3);
		expect((await getWatch(w.id)).state).toBe("delivered");
	});

	it("since and until select on the watch's last change; state: delivered picks delivered ones", async () => {
		const early = await failedWatch("window");
		world.vclock.advance(3_600_000);
		const late = await failedWatch("window");
		const cut = new Date(Date.parse(late.updated_at) - 1_000).toISOString();
		const onlyLate = await bulk({ since: cut, until: new Date(world.vclock.t + 1).toISOString() });
		expect(onlyLate.body).toMatchObject({ matched: 1, redelivered: 1 });
		expect((await getWatch(late.id)).state).toBe("notifying");
		expect((await getWatch(early.id)).state).toBe("failed");
		const beforeCut = await bulk({ until: cut, asset_id: early.asset_id });
		expect(beforeCut.body).toMatchObject({ matched: 1, redelivered: 1 });
		await step(world.vclock, late.asset_id);
		expect((await getWatch(late.id)).state).toBe("delivered");
		expect(await bulk({ state: "delivered", asset_id: late.asset_id })).toMatchObject({
			status: 202,
			body: { matched: 1, redelivered: 1 },
		});
		await step(world.vclock, late.asset_id);
		expect(world.fakes.deliveriesTo(late.url)).toHaveLength(4);
	});

	it("is bounded per call with a cursor to go on, and a call that died half-way is simply repeated", async () => {
		const token = TOKEN_B;
		const tag = unique("pages");
		const ws = [];
		for (let i = 0; i < 5; i++) ws.push(await failedWatch(tag, token));
		// As if a first call had redelivered two of them and died before answering.
		for (const w of ws.slice(0, 2))
			expect((await call("POST", `/v1/watches/${w.id}/redeliver`, { token })).status).toBe(202);
		const first = await bulk({ limit: 2 }, token);
		expect(first.body).toMatchObject({ matched: 2, redelivered: 2 });
		expect(first.body.next_cursor).not.toBeNull();
		const second = await bulk({ limit: 2, cursor: first.body.next_cursor }, token);
		expect(second.body).toMatchObject({ matched: 1, redelivered: 1, next_cursor: null });
		for (const w of ws) {
			await step(world.vclock, w.asset_id);
			// Each redelivered once: its two failed attempts, and one more.
			expect(world.fakes.deliveriesTo(w.url)).toHaveLength(3);
			expect((await getWatch(w.id, token)).state).toBe("delivered");
		}
	});

	it("another token's watches are neither redelivered nor counted", async () => {
		const w = await failedWatch("tenant");
		const other = await bulk({ asset_id: w.asset_id }, TOKEN_B);
		expect(other).toEqual({ status: 202, body: { matched: 0, redelivered: 0, next_cursor: null } });
		expect((await getWatch(w.id)).state).toBe("failed");
		expect((await call("POST", `/v1/watches/${w.id}/redeliver`, { token: TOKEN_B })).status).toBe(404);
	});

	it.each([
		["a state it does not take", { state: "cancelled" }],
		["since that is not a date-time", { since: "yesterday" }],
		["since after until", { since: "2030-01-02T00:00:00Z", until: "2030-01-01T00:00:00Z" }],
		["an unknown field", { stat: "failed" }],
		["a cursor this service did not issue", { cursor: "bm90IGEgY3Vyc29y" }],
		["a limit of 0", { limit: 0 }],
		["a limit over 100", { limit: 101 }],
		["a bad asset_id", { asset_id: "no spaces" }],
		["not an object", [1, 2]],
	])("%s → 400, and nothing changes", async (_label, body) => {
		const w = await failedWatch("bad-input");
		const r = await bulk(body);
		expect(r.status).toBe(400);
		expect(r.body.error.code).toBe("invalid_request");
		expect((await getWatch(w.id)).state).toBe("failed");
	});
});

describe("GET /v1/receivers", () => {
	it("pages through the token's origins with a cursor", async () => {
		const tag = unique("list");
		const origins = [1, 2, 3].map((i) => `https://${tag}-${i}.example`);
		for (const [i, origin] of origins.entries()) {
			const asset = `${tag}-a${i}`;
			world.fakes.script(asset, { status: "Active" });
			await call("POST", "/v1/watches", {
				token: TOKEN_B,
				body: { asset_id: asset, callback_url: `${origin}/h` },
			});
			await step(world.vclock, asset);
		}
		const seen: string[] = [];
		let cursor: string | null = null;
		do {
			const path: string = `/v1/receivers?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
			const page = await json<{ receivers: { origin: string; state: string }[]; next_cursor: string | null }>(
				await call("GET", path, { token: TOKEN_B }),
			);
			expect(page.receivers.length).toBeLessThanOrEqual(2);
			seen.push(...page.receivers.map((r) => r.origin));
			cursor = page.next_cursor;
		} while (cursor);
		for (const o of origins) expect(seen).toContain(o);
		expect(new Set(seen).size).toBe(seen.length);
		expect([...seen].sort()).toEqual(seen);
	});

	it.each([
		["a cursor this service did not issue", "/v1/receivers?cursor=%25%25"],
		["a limit of 0", "/v1/receivers?limit=0"],
		["an unknown parameter", "/v1/receivers?state=paused"],
	])("%s → 400", async (_label, path) => {
		const res = await call("GET", path);
		expect(res.status).toBe(400);
		expect((await json<ErrorBody>(res)).error.code).toBe("invalid_request");
	});
});
