// The object calls each request waits on, counted by the bench's instrument (BENCH_COUNT_OBJECT_CALLS):
// a registration one (the asset's object), a watched lookup one, a lookup the edge holds none, and
// the instrument itself off (no header) unless the var is set. The targets of issue 12 are these.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { json, TOKEN_A, unique, useFakeWorld } from "../support/fakes";
import { runDue, step } from "../support/steps";

const world = useFakeWorld();
const counting = { ...env, BENCH_COUNT_OBJECT_CALLS: "true" } as unknown as Env;

async function send(path: string, init: RequestInit = {}, e: Env = counting) {
	const headers = new Headers(init.headers);
	headers.set("authorization", `Bearer ${TOKEN_A}`);
	if (init.body) headers.set("content-type", "application/json");
	const ctx = createExecutionContext();
	const res = await app.request(`https://watcher.test${path}`, { ...init, headers }, e, ctx);
	await waitOnExecutionContext(ctx);
	return { res, calls: Number(res.headers.get("x-object-calls") ?? Number.NaN) };
}

const register = (assetId: string, url = `https://receiver.example/${assetId}`) =>
	send("/v1/watches", { method: "POST", body: JSON.stringify({ asset_id: assetId, callback_url: url }) });

describe("object calls on the request path", () => {
	it("a registration waits on one object call, on a new asset and on a watched one", async () => {
		// The token's first registration here also starts the refresh of its count (not waited on:
		// one index shard's, the token being far below its limit); later ones within
		// COUNT_MAX_AGE_MS make none.
		const first = await register(unique("calls-first"));
		expect(first.res.status).toBe(201);
		expect(first.calls).toBe(2);

		const fresh = unique("calls-new");
		world.fakes.script(fresh, { status: "Processing" });
		const created = await register(fresh);
		expect(created.res.status).toBe(201);
		expect(created.calls).toBe(1);
		await runDue(world.vclock, fresh);
		const again = await register(fresh, "https://receiver.example/second");
		expect(again.res.status).toBe(201);
		expect(again.calls).toBe(1);
	});

	it("a watched lookup makes one; one the edge holds (Processing until its next check, or terminal) none", async () => {
		const a = unique("calls-look");
		world.fakes.script(a, { status: "Processing" }, { status: "Active" });
		await register(a);
		await runDue(world.vclock, a);
		const first = await send(`/v1/assets/${a}`);
		expect((await json(first.res)).status).toBe("Processing");
		expect(first.calls).toBe(1);
		expect((await send(`/v1/assets/${a}`)).calls).toBe(0);

		await step(world.vclock, a);
		const done = await send(`/v1/assets/${a}`);
		expect((await json(done.res)).status).toBe("Active");
		expect(done.calls).toBe(1);
		expect((await send(`/v1/assets/${a}`)).calls).toBe(0);
		// A wait on a terminal answer the edge holds is answered there too.
		expect((await send(`/v1/assets/${a}`, { headers: { prefer: "wait=30" } })).calls).toBe(0);
	});

	it("counts nothing, and says nothing, unless the bench asks", async () => {
		const { res } = await send("/v1/watches/w_x", {}, env);
		expect(res.status).toBe(404);
		expect(res.headers.get("x-object-calls")).toBeNull();
		expect(res.headers.get("x-object-calls-total")).toBeNull();
	});
});
