// The service as users run it: the bundled worker under the local runtime, talking to the Crun
// simulator and a Standard Webhooks receiver over real loopback HTTP. Covers register → verified
// callback, several watches sharing one poll loop, status lookups, and cancellation, asserting on
// what a client and a receiver see (status codes, bodies, signatures, upstream call counts).
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CrunSim, startCrunSim } from "../../sim/crun.mjs";
import { type Delivery, type Receiver, startReceiver } from "../../sim/receiver.mjs";
import { FAST_VARS, localSecrets, type Runtime, startRuntime } from "./harness.mjs";

const secrets = localSecrets({ tokens: ["tok-e2e-a", "tok-e2e-b"] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Watch = {
	id: string;
	state: string;
	asset_id: string;
	delivery: { webhook_id: string; attempts: number; last_status: number | null } | null;
};
type Callback = {
	type: string;
	timestamp: string;
	data: Record<string, unknown> & { metadata: unknown; upstream: Record<string, unknown> | null };
};

let crun: CrunSim;
let rx: Receiver;
let rt: Runtime;

beforeAll(async () => {
	[crun, rx] = await Promise.all([
		startCrunSim({ apiKey: secrets.CRUN_API_KEY, defaultProcessingMs: 800 }),
		startReceiver({ secret: secrets.WEBHOOK_SECRET }),
	]);
	rt = await startRuntime({ vars: { ...FAST_VARS, CRUN_API_BASE: crun.url }, secrets });
});

afterAll(async () => {
	await rt?.dispose();
	await Promise.all([crun?.close(), rx?.close()]);
});

async function register(assetId: string, path: string, extra: Record<string, unknown> = {}, token?: string) {
	const res = await rt.fetch("/v1/watches", {
		json: { asset_id: assetId, callback_url: `${rx.url}${path}`, ...extra },
		token,
	});
	const text = await res.text();
	return { status: res.status, text, watch: JSON.parse(text) as Watch };
}

async function getWatch(id: string, token?: string): Promise<Watch> {
	const res = await rt.fetch(`/v1/watches/${id}`, { token });
	expect(res.status).toBe(200);
	return (await res.json()) as Watch;
}

/** Polls the watch until its state is `state` (callbacks are recorded just after the receiver answers). */
async function untilState(id: string, state: string, token?: string, timeoutMs = 10_000): Promise<Watch> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const w = await getWatch(id, token);
		if (w.state === state) return w;
		if (Date.now() > deadline) throw new Error(`watch ${id} is ${w.state}, not ${state}`);
		await sleep(100);
	}
}

const onPath = (path: string) => (d: Delivery) => d.path === path;
const deliveriesOn = (path: string) => rx.deliveries().filter(onPath(path));

function verify(d: Delivery): Callback {
	expect(d.verified, d.error).toBe(true);
	// The reference verifier, independently of the receiver's own bookkeeping.
	const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]));
	return new Webhook(secrets.WEBHOOK_SECRET).verify(d.body, headers) as Callback;
}

describe("register → callback", () => {
	it("delivers one signed asset.active callback carrying the asset, the metadata and the upstream data", async () => {
		crun.script("e2e-active-1", {
			processingMs: 500,
			name: "cat.png",
			assetType: "Image",
			timeFormat: "unix",
		});
		const before = Date.now();
		const reg = await register("e2e-active-1", "/hooks/active", {
			metadata: { order: 42 },
			callback_headers: { "X-Receiver-Auth": "rx-s3cret-value" },
		});
		expect(reg.status).toBe(201);
		expect(reg.watch).toMatchObject({ asset_id: "e2e-active-1", state: "watching" });
		expect(reg.text).not.toContain("rx-s3cret-value");

		const d = await rx.waitFor(onPath("/hooks/active"), 10_000);
		const body = verify(d);
		expect(d.method).toBe("POST");
		expect(d.headers["content-type"]).toBe("application/json");
		expect(d.headers["user-agent"]).toMatch(/^seedance-asset-watcher\//);
		expect(d.headers["x-receiver-auth"]).toBe("rx-s3cret-value");
		expect(body).toMatchObject({
			type: "asset.active",
			data: {
				watch_id: reg.watch.id,
				asset_id: "e2e-active-1",
				status: "Active",
				name: "cat.png",
				asset_type: "Image",
				metadata: { order: 42 },
				upstream: { AssetId: "e2e-active-1", Status: "Active", Name: "cat.png", AssetType: "Image" },
				upstream_message: "success",
				reason: null,
			},
		});
		expect(Date.parse(body.timestamp)).toBeGreaterThanOrEqual(before - 1000);
		expect(body.data.create_time).not.toBeNull();
		expect(body.data.update_time).not.toBeNull();

		const w = await untilState(reg.watch.id, "delivered");
		expect(w.delivery).toMatchObject({ webhook_id: d.webhookId, attempts: 1, last_status: 200 });
		expect(deliveriesOn("/hooks/active")).toHaveLength(1);
	});

	it("delivers asset.failed with the upstream's error message passed through", async () => {
		crun.script("e2e-failed-1", {
			processingMs: 300,
			outcome: "Failed",
			errorMessage: "content policy violation",
		});
		const reg = await register("e2e-failed-1", "/hooks/failed");
		expect(reg.status).toBe(201);
		const body = verify(await rx.waitFor(onPath("/hooks/failed"), 10_000));
		expect(body).toMatchObject({
			type: "asset.failed",
			data: {
				watch_id: reg.watch.id,
				status: "Failed",
				upstream: { Status: "Failed", ErrorMessage: "content policy violation" },
				upstream_message: "content policy violation",
			},
		});
		await untilState(reg.watch.id, "delivered");
	});
});

describe("several watches on one asset", () => {
	it("share one poll loop and each get their own callback", async () => {
		const asset = "e2e-shared-1";
		crun.script(asset, { processingMs: 1500 });
		const a = await register(asset, "/shared/a");
		const b = await register(asset, "/shared/b", { metadata: { who: "b" } });
		const c = await register(asset, "/shared/c");
		// Another token, same URL: a watch of its own. The same token again: the existing watch.
		const other = await register(asset, "/shared/a", {}, "tok-e2e-b");
		const again = await register(asset, "/shared/a");
		expect([a.status, b.status, c.status, other.status, again.status]).toEqual([201, 201, 201, 201, 200]);
		expect(again.watch.id).toBe(a.watch.id);
		const ids = [a, b, c, other].map((r) => r.watch.id);
		expect(new Set(ids).size).toBe(4);

		await Promise.all([
			untilState(a.watch.id, "delivered"),
			untilState(b.watch.id, "delivered"),
			untilState(c.watch.id, "delivered"),
			untilState(other.watch.id, "delivered", "tok-e2e-b"),
		]);
		const got = rx.deliveries().filter((d) => d.path.startsWith("/shared/"));
		const watchIds = got.map((d) => verify(d).data.watch_id);
		expect(watchIds.sort()).toEqual([...ids].sort());
		expect(new Set(got.map((d) => d.webhookId)).size).toBe(4);

		// One loop: 200, 300, 450, 675 ms… reaches 1.5 s in about five checks; four loops would
		// need about twenty. Every check the service counts is one upstream call.
		const calls = crun.asset(asset)?.calls ?? 0;
		expect(calls).toBeGreaterThanOrEqual(2);
		expect(calls).toBeLessThanOrEqual(8);
		const status = (await (await rt.fetch(`/v1/assets/${asset}`)).json()) as { checks: number };
		expect(status.checks).toBe(calls);
	});
});

describe("lookups", () => {
	it("answers a watched asset from the service's state, with no upstream call, and honours ETags", async () => {
		// e2e-active-1 is watched (delivered) and terminal since the first test.
		const calls = crun.asset("e2e-active-1")?.calls;
		const res = await rt.fetch("/v1/assets/e2e-active-1");
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({
			asset_id: "e2e-active-1",
			status: "Active",
			watched: true,
			name: "cat.png",
			asset_type: "Image",
			next_check_at: null,
		});
		const etag = res.headers.get("etag");
		expect(etag).toBeTruthy();
		expect(res.headers.get("cache-control")).toMatch(/max-age/);
		const again = await rt.fetch("/v1/assets/e2e-active-1", { headers: { "if-none-match": etag ?? "" } });
		expect(again.status).toBe(304);
		await Promise.all(
			Array.from({ length: 5 }, () => rt.fetch("/v1/assets/e2e-active-1").then((r) => r.text())),
		);
		expect(crun.asset("e2e-active-1")?.calls).toBe(calls);
	});

	it("answers a watched asset that is still processing, with its next check", async () => {
		crun.script("e2e-lookup-slow", { processingMs: 600_000 });
		const reg = await register("e2e-lookup-slow", "/hooks/slow");
		expect(reg.status).toBe(201);
		let view: Record<string, unknown> = {};
		for (let i = 0; i < 50 && view.status !== "Processing"; i++) {
			await sleep(100);
			view = (await (await rt.fetch("/v1/assets/e2e-lookup-slow")).json()) as Record<string, unknown>;
		}
		expect(view).toMatchObject({ status: "Processing", watched: true, last_error: null });
		expect(typeof view.next_check_at).toBe("string");
		expect(view.checks).toBeGreaterThanOrEqual(1);
		await rt.fetch(`/v1/watches/${reg.watch.id}`, { method: "DELETE" });
	});

	it("answers an unwatched asset with one upstream call however many lookups arrive", async () => {
		const answers = await Promise.all(
			Array.from({ length: 6 }, () =>
				rt.fetch("/v1/assets/e2e-unwatched-1").then(async (r) => [r.status, await r.json()]),
			),
		);
		for (const [status, body] of answers) {
			expect(status).toBe(200);
			expect(body).toMatchObject({ asset_id: "e2e-unwatched-1", status: "Processing", watched: false });
		}
		expect(crun.asset("e2e-unwatched-1")?.calls).toBe(1);
	});

	it("answers 404 asset_not_found for an unwatched asset the upstream does not know", async () => {
		for (let i = 0; i < 2; i++) {
			const res = await rt.fetch("/v1/assets/missing-e2e-1");
			expect(res.status).toBe(404);
			expect(res.headers.get("x-request-id")).toBeTruthy();
			expect(await res.json()).toMatchObject({ error: { code: "asset_not_found" } });
		}
	});

	it("refuses requests without a valid bearer token, and malformed asset ids", async () => {
		expect((await rt.fetch("/v1/assets/e2e-active-1", { token: null })).status).toBe(401);
		expect((await rt.fetch("/v1/assets/e2e-active-1", { token: "nope" })).status).toBe(401);
		const bad = await rt.fetch(`/v1/assets/${encodeURIComponent("bad id!")}`);
		expect(bad.status).toBe(400);
	});
});

describe("cancel", () => {
	it("stops callbacks for the cancelled watch and polling once no live watch remains", async () => {
		crun.script("e2e-cancel-only", { processingMs: 1200 });
		crun.script("e2e-cancel-one-of-two", { processingMs: 1200 });
		const only = await register("e2e-cancel-only", "/cancel/only");
		const first = await register("e2e-cancel-one-of-two", "/cancel/first");
		const second = await register("e2e-cancel-one-of-two", "/cancel/second");

		for (const w of [only, first]) {
			const res = await rt.fetch(`/v1/watches/${w.watch.id}`, { method: "DELETE" });
			expect(res.status).toBe(200);
			expect(await res.json()).toMatchObject({ id: w.watch.id, state: "cancelled" });
		}
		const callsAtCancel = crun.asset("e2e-cancel-only")?.calls ?? 0;

		// The other watch on the shared asset still gets its callback…
		verify(await rx.waitFor(onPath("/cancel/second"), 10_000));
		await untilState(second.watch.id, "delivered");
		// …and by then e2e-cancel-only would have turned Active: nothing was sent, nothing polled.
		await sleep(
			Math.max(0, 1500 - (Date.now() - (crun.asset("e2e-cancel-only")?.firstQueryAt ?? Date.now()))),
		);
		expect(deliveriesOn("/cancel/only")).toHaveLength(0);
		expect(deliveriesOn("/cancel/first")).toHaveLength(0);
		// A check already under way when the DELETE arrived may still land.
		expect(crun.asset("e2e-cancel-only")?.calls ?? 0).toBeLessThanOrEqual(callsAtCancel + 1);
		expect((await getWatch(only.watch.id)).state).toBe("cancelled");
		expect((await getWatch(first.watch.id)).state).toBe("cancelled");

		const view = (await (await rt.fetch("/v1/assets/e2e-cancel-only")).json()) as { watched: boolean };
		expect(view.watched).toBe(false);
		// Cancelling twice is harmless.
		expect((await rt.fetch(`/v1/watches/${only.watch.id}`, { method: "DELETE" })).status).toBe(200);
	});
});
