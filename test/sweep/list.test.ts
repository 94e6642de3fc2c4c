// GET /v1/watches and GET /v1/stats through the worker's fetch: one token's watches only, in one
// stable order across all index shards, page by page with the cursor; filters; the 400s of bad
// query parameters; both routes in /openapi.json; counts per token and the most overdue check.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HEARTBEAT_MS, shardOf } from "../../src/watch-index/shards";
import { call, json, TOKEN_A, TOKEN_B, unique, useFakeWorld } from "../support/fakes";
import { runDue, step } from "../support/steps";

const world = useFakeWorld({ resetStorage: true });

type Summary = {
	id: string;
	asset_id: string;
	state: string;
	asset_status: string;
	created_at: string;
	updated_at: string;
	expires_at: string;
};
type Page = { watches: Summary[]; next_cursor: string | null };

async function register(
	token: string,
	assetId: string,
	url = `https://receiver.example/${assetId}`,
): Promise<Summary> {
	const res = await call("POST", "/v1/watches", { token, body: { asset_id: assetId, callback_url: url } });
	expect(res.status).toBe(201);
	// The push to the index is the alarm's, right after the answer.
	await runDue(world.vclock, assetId);
	return json<Summary>(res);
}

async function page(token: string, query: string): Promise<Page> {
	const res = await call("GET", `/v1/watches${query}`, { token });
	expect(res.status).toBe(200);
	return json<Page>(res);
}

async function all(token: string, query: string, limit: number): Promise<{ ids: string[]; pages: number }> {
	const ids: string[] = [];
	let cursor: string | null = null;
	let pages = 0;
	do {
		const sep = query ? "&" : "";
		const p: Page = await page(token, `?${query}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
		expect(p.watches.length).toBeLessThanOrEqual(limit);
		ids.push(...p.watches.map((w) => w.id));
		cursor = p.next_cursor;
		pages++;
	} while (cursor !== null && pages < 50);
	return { ids, pages };
}

describe("GET /v1/watches", () => {
	it("pages through one token's watches across shards in (created_at, id) order, never another token's", async () => {
		const mine: { id: string; asset: string; at: number }[] = [];
		const theirs: string[] = [];
		for (let i = 0; i < 14; i++) {
			// Pairs of registrations share a millisecond, so the id breaks ties. Each pair comes 100 ms
			// after the last: the upstream budget paces first checks made at one instant.
			if (i % 2 === 0) world.vclock.advance(100);
			const asset = unique("pg");
			const w = await register(TOKEN_A, asset);
			mine.push({ id: w.id, asset, at: world.vclock.t });
			if (i % 2 === 0) theirs.push((await register(TOKEN_B, unique("pgb"))).id);
		}
		// On an asset both tokens watch, each sees only its own watch.
		const shared = unique("shared");
		mine.push({ id: (await register(TOKEN_A, shared)).id, asset: shared, at: world.vclock.t });
		theirs.push((await register(TOKEN_B, shared)).id);

		expect(new Set(mine.map((m) => shardOf(m.asset, 16))).size).toBeGreaterThan(5);
		const expected = [...mine].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1)).map((m) => m.id);

		const paged = await all(TOKEN_A, "", 4);
		expect(paged.ids).toEqual(expected);
		expect(paged.pages).toBe(4);
		expect((await all(TOKEN_A, "", 200)).ids).toEqual(expected);
		expect((await page(TOKEN_A, "")).watches.map((w) => w.id)).toEqual(expected);

		const b = await all(TOKEN_B, "", 3);
		expect(new Set(b.ids)).toEqual(new Set(theirs));
		expect(b.ids.filter((id) => mine.some((m) => m.id === id))).toEqual([]);
	});

	it("items are summaries with the asset's status; the full watch is one GET away", async () => {
		const asset = unique("sum");
		world.fakes.script(asset, { status: "Processing" });
		const w = await register(TOKEN_A, asset);
		await step(world.vclock, asset);
		const [item] = (await page(TOKEN_A, `?asset_id=${asset}`)).watches;
		expect(item).toEqual({
			id: w.id,
			asset_id: asset,
			state: "watching",
			asset_status: "Processing",
			created_at: w.created_at,
			updated_at: w.updated_at,
			expires_at: w.expires_at,
		});
		expect((await call("GET", `/v1/watches/${w.id}`)).status).toBe(200);
	});

	it("filters by asset_id and by state", async () => {
		const asset = unique("flt");
		const a1 = await register(TOKEN_A, asset, `https://one.example/${asset}`);
		const a2 = await register(TOKEN_A, asset, `https://two.example/${asset}`);
		await register(TOKEN_B, asset);
		const other = await register(TOKEN_A, unique("flt-other"));
		expect((await call("DELETE", `/v1/watches/${a2.id}`)).status).toBe(200);

		expect((await page(TOKEN_A, `?asset_id=${asset}`)).watches.map((w) => w.id).sort()).toEqual(
			[a1.id, a2.id].sort(),
		);
		expect((await page(TOKEN_A, "?state=cancelled")).watches.map((w) => w.id)).toEqual([a2.id]);
		expect((await page(TOKEN_A, `?state=watching&asset_id=${asset}`)).watches.map((w) => w.id)).toEqual([
			a1.id,
		]);
		expect((await page(TOKEN_A, "?state=watching")).watches.map((w) => w.id).sort()).toEqual(
			[a1.id, other.id].sort(),
		);
		expect(await page(TOKEN_B, "?state=cancelled")).toEqual({ watches: [], next_cursor: null });
		expect(await page(TOKEN_A, `?asset_id=${unique("none")}`)).toEqual({ watches: [], next_cursor: null });
	});

	it.each([
		["limit=0", "limit"],
		["limit=201", "limit"],
		["limit=abc", "limit"],
		["limit=2.5", "limit"],
		["state=sleeping", "state"],
		["asset_id=has%20space", "asset_id"],
		["cursor=not-a-cursor", "cursor"],
		["cursor=W10", "cursor"],
		["colour=red", "colour"],
	])("?%s → 400 naming %s", async (query, name) => {
		const res = await call("GET", `/v1/watches?${query}`);
		expect(res.status).toBe(400);
		const body = await json<{ error: { code: string; message: string } }>(res);
		expect(body.error.code).toBe("invalid_request");
		expect(body.error.message).toContain(name);
	});

	it("needs a token", async () => {
		expect((await call("GET", "/v1/watches", { token: null })).status).toBe(401);
		expect((await call("GET", "/v1/stats", { token: null })).status).toBe(401);
	});
});

describe("GET /v1/stats", () => {
	it("counts the token's watches by state and its assets by status, and names the most overdue check", async () => {
		const active = unique("st-act");
		const slow = unique("st-slow");
		const other = unique("st-b");
		world.fakes.script(active, { status: "Active" });
		world.fakes.script(slow, { status: "Processing" });
		world.fakes.script(other, { status: "Processing" });
		await register(TOKEN_A, active);
		const s2 = await register(TOKEN_A, slow, `https://one.example/${slow}`);
		await register(TOKEN_A, slow, `https://two.example/${slow}`);
		await register(TOKEN_B, other);
		await step(world.vclock, active);
		await step(world.vclock, active);
		await step(world.vclock, slow);
		await step(world.vclock, other);
		await call("DELETE", `/v1/watches/${s2.id}`);

		const a = await json<Record<string, unknown>>(await call("GET", "/v1/stats"));
		expect(a).toMatchObject({
			scope: "token",
			watches: {
				total: 3,
				by_state: { watching: 1, notifying: 0, delivered: 1, failed: 0, cancelled: 1, skipped: 0 },
			},
			assets: { total: 2, by_status: { Processing: 1, Active: 1, Failed: 0, Unknown: 0 } },
			most_overdue: null,
			index_shards: 16,
		});
		const b = await json<Record<string, unknown>>(await call("GET", "/v1/stats", { token: TOKEN_B }));
		expect(b).toMatchObject({
			watches: { total: 1, by_state: { watching: 1 } },
			assets: { total: 1, by_status: { Processing: 1 } },
		});

		// Nobody runs the alarms for longer than a lease: both polling assets are overdue, each token sees its own.
		world.vclock.advance(2 * HEARTBEAT_MS + 20 * 60_000);
		const late = await json<{ most_overdue: { asset_id: string; due_at: string; overdue_ms: number } }>(
			await call("GET", "/v1/stats"),
		);
		expect(late.most_overdue.asset_id).toBe(slow);
		expect(late.most_overdue.overdue_ms).toBeGreaterThan(10 * 60_000);
		expect(late.most_overdue.overdue_ms).toBe(world.vclock.t - Date.parse(late.most_overdue.due_at));
		const lateB = await json<{ most_overdue: { asset_id: string } }>(
			await call("GET", "/v1/stats", { token: TOKEN_B }),
		);
		expect(lateB.most_overdue.asset_id).toBe(other);
	});

	it("refuses query parameters", async () => {
		expect((await call("GET", "/v1/stats?all=true")).status).toBe(400);
	});
});

describe("OpenAPI", () => {
	it("documents both routes with their parameters and schemas", async () => {
		const doc = await json<{
			paths: Record<string, Record<string, { parameters?: { name: string }[]; description?: string }>>;
		}>(await call("GET", "/openapi.json", { token: null }));
		const list = doc.paths["/v1/watches"]?.get;
		expect(list?.parameters?.map((p) => p.name).sort()).toEqual(["asset_id", "cursor", "limit", "state"]);
		expect(list?.description).toContain("GET /v1/watches/{id}");
		expect(doc.paths["/v1/stats"]?.get).toBeDefined();
		expect(env.INDEX_SHARDS).toBe("16");
	});
});
