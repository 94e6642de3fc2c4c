// The TypeScript client against the service as users run it: the bundled worker under the local
// runtime, the Crun simulator (status and upload) and a Standard Webhooks receiver over loopback.
// Every method, the typed errors with the envelope and request id, and verifyCallback on the
// callbacks the receiver actually got (and on forged, tampered and stale ones).

import {
	CallbackVerificationError,
	verifyCallback,
	verifyCallbackPayload,
	type Watch,
	WatcherApiError,
	WatcherClient,
} from "seedance-asset-watcher-client";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CrunSim, startCrunSim } from "../../sim/crun.mjs";
import { type Delivery, type Receiver, startReceiver } from "../../sim/receiver.mjs";
import { FAST_VARS, localSecrets, type Runtime, randomWebhookSecret, startRuntime } from "./harness.mjs";

const secrets = localSecrets({ tokens: ["tok-client-a", "tok-client-b"] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let crun: CrunSim;
let rx: Receiver;
let rt: Runtime;
let client: WatcherClient;

beforeAll(async () => {
	[crun, rx] = await Promise.all([
		startCrunSim({ apiKey: secrets.CRUN_API_KEY, defaultProcessingMs: 600 }),
		startReceiver({ secret: secrets.WEBHOOK_SECRET }),
	]);
	rt = await startRuntime({ vars: { ...FAST_VARS, CRUN_API_BASE: crun.url }, secrets: { ...secrets } });
	client = new WatcherClient({ baseUrl: rt.url, token: "tok-client-a" });
});

afterAll(async () => {
	await rt?.dispose();
	await Promise.all([crun?.close(), rx?.close()]);
});

let n = 0;
const unique = (p: string) => `${p}-${++n}-${Date.now().toString(36)}`;

/** The callback as the receiver got it, rebuilt as the `Request` a Workers or fetch-style handler sees. */
function asRequest(d: Delivery): Request {
	const headers = new Headers();
	for (const [k, v] of Object.entries(d.headers)) if (typeof v === "string") headers.set(k, v);
	return new Request(`${rx.url}${d.path}`, { method: d.method, headers, body: d.body });
}

async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const v = await fn();
		if (v !== undefined) return v;
		if (Date.now() > deadline) throw new Error("condition not reached in time");
		await sleep(100);
	}
}

async function untilState(id: string, state: Watch["state"]): Promise<Watch> {
	return until(async () => {
		const w = await client.get(id);
		return w.state === state ? w : undefined;
	});
}

async function rejection(p: Promise<unknown>): Promise<WatcherApiError> {
	const err = await p.then(
		() => null,
		(e: unknown) => e,
	);
	expect(err).toBeInstanceOf(WatcherApiError);
	return err as WatcherApiError;
}

describe("watches", () => {
	it("register → verified, typed callback → get → redeliver with the same webhook-id", async () => {
		const asset = unique("cli-active");
		const path = `/hooks/${asset}`;
		const first = await client.register({
			asset_id: asset,
			callback_url: `${rx.url}${path}`,
			metadata: { job: "j-42" },
		});
		expect(first.created).toBe(true);
		expect(first.watch).toMatchObject({ asset_id: asset, state: "watching", metadata: { job: "j-42" } });
		const again = await client.register({ asset_id: asset, callback_url: `${rx.url}${path}` });
		expect(again).toMatchObject({ created: false, watch: { id: first.watch.id } });

		const delivery = await rx.waitFor((d) => d.path === path, 10_000);
		const event = await verifyCallback(asRequest(delivery), secrets.WEBHOOK_SECRET);
		expect(event.type).toBe("asset.active");
		expect(event.data).toMatchObject({
			watch_id: first.watch.id,
			asset_id: asset,
			status: "Active",
			metadata: { job: "j-42" },
		});
		expect(event.data.upstream).toMatchObject({ AssetId: asset, Status: "Active" });

		const delivered = await untilState(first.watch.id, "delivered");
		expect(delivered.delivery).toMatchObject({ event_type: "asset.active", attempts: 1, last_status: 200 });

		const redelivered = await client.redeliver(first.watch.id);
		expect(redelivered.state).toMatch(/notifying|delivered/);
		const second = await rx.waitFor((d) => d.path === path && d.attempt === 2, 10_000);
		expect(second.webhookId).toBe(delivery.webhookId);
		expect((await verifyCallback(asRequest(second), secrets.WEBHOOK_SECRET)).data.watch_id).toBe(
			first.watch.id,
		);
	});

	it("registerMany gives a result per item, in order", async () => {
		const [a, b] = [unique("cli-batch"), unique("cli-batch")];
		const results = await client.registerMany([
			{ asset_id: a, callback_url: `${rx.url}/batch/${a}` },
			{ asset_id: "not valid!", callback_url: `${rx.url}/batch/bad` },
			{ asset_id: b, callback_url: `${rx.url}/batch/${b}`, events: ["asset.failed"] },
		]);
		expect(results.map((r) => [r.index, r.status])).toEqual([
			[0, 201],
			[1, 400],
			[2, 201],
		]);
		expect(results[0]?.watch?.asset_id).toBe(a);
		expect(results[1]?.error?.code).toBe("invalid_request");
		expect(results[2]?.watch?.events).toEqual(["asset.failed"]);
	});

	it("list and listAll page through this token's watches only", async () => {
		const asset = unique("cli-list");
		const ids: string[] = [];
		for (let i = 0; i < 3; i++)
			ids.push(
				(await client.register({ asset_id: asset, callback_url: `${rx.url}/list/${asset}/${i}` })).watch.id,
			);
		const other = new WatcherClient({ baseUrl: rt.url, token: "tok-client-b" });
		await other.register({ asset_id: asset, callback_url: `${rx.url}/list/${asset}/b` });

		// The list is read from the service's index, which follows the watches within moments.
		const page = await until(async () => {
			const p = await client.list({ asset_id: asset, limit: 2 });
			return p.watches.length === 2 && p.next_cursor ? p : undefined;
		});
		expect(page.watches.map((w) => w.id)).toEqual(ids.slice(0, 2));
		const rest = await client.list({ asset_id: asset, limit: 2, cursor: page.next_cursor as string });
		expect(rest).toMatchObject({ watches: [{ id: ids[2], asset_id: asset }], next_cursor: null });

		const all: string[] = [];
		for await (const w of client.listAll({ asset_id: asset, limit: 1 })) all.push(w.id);
		expect(all).toEqual(ids);
	});

	it("cancel stops the watch; redeliver before an event is 409 no_event_yet", async () => {
		const asset = unique("cli-cancel");
		crun.script(asset, { processingMs: 60_000 });
		const { watch } = await client.register({ asset_id: asset, callback_url: `${rx.url}/cancel/${asset}` });
		const early = await rejection(client.redeliver(watch.id));
		expect(early).toMatchObject({ status: 409, code: "no_event_yet" });
		const cancelled = await client.cancel(watch.id);
		expect(cancelled.state).toBe("cancelled");
		expect((await client.get(watch.id)).state).toBe("cancelled");
	});
});

describe("recovery", () => {
	it("redeliverMany sends this token's failed watches again, same webhook-id, and a second call changes nothing", async () => {
		const asset = unique("cli-bulk");
		const path = `/bulk/${asset}`;
		crun.script(asset, { processingMs: 0 });
		// Four failed attempts (FAST_VARS: 1 s, 1 s, 2 s apart), then the receiver is fine.
		rx.setBehaviour(path, { sequence: [500, 500, 500, 500], after: 200 });
		const { watch } = await client.register({ asset_id: asset, callback_url: `${rx.url}${path}` });
		await until(async () => ((await client.get(watch.id)).state === "failed" ? true : undefined), 20_000);
		// Another token matches nothing of this one's.
		const other = new WatcherClient({ baseUrl: rt.url, token: "tok-client-b" });
		expect(await other.redeliverMany({ asset_id: asset })).toEqual({
			matched: 0,
			redelivered: 0,
			next_cursor: null,
		});

		const first = await until(async () => {
			const r = await client.redeliverMany({ state: "failed", asset_id: asset });
			return r.matched > 0 ? r : undefined;
		});
		expect(first).toEqual({ matched: 1, redelivered: 1, next_cursor: null });
		expect((await client.redeliverMany({ asset_id: asset })).redelivered).toBe(0);
		const fifth = await rx.waitFor((d) => d.path === path && d.attempt === 5, 10_000);
		expect(fifth.status).toBe(200);
		const firstAttempt = rx.deliveries().find((d) => d.path === path && d.attempt === 1);
		expect(fifth.webhookId).toBe(firstAttempt?.webhookId);
		expect((await untilState(watch.id, "delivered")).delivery?.attempts).toBe(5);
		const bad = await rejection(client.redeliverMany({ since: "not a time" }));
		expect(bad).toMatchObject({ status: 400, code: "invalid_request" });
	});

	it("receivers lists this token's callback origins with their circuit", async () => {
		const origin = new URL(rx.url).origin;
		const page = await until(async () => {
			const p = await client.receivers({ limit: 100 });
			return p.receivers.some((r) => r.origin === origin) ? p : undefined;
		});
		const mine = page.receivers.find((r) => r.origin === origin);
		expect(mine).toMatchObject({
			origin,
			state: expect.stringMatching(/^(healthy|failing)$/),
			pending_deliveries: 0,
		});
		expect(typeof mine?.consecutive_failures).toBe("number");
		expect(page.next_cursor).toBeNull();
		const bad = await rejection(client.receivers({ limit: 0 }));
		expect(bad).toMatchObject({ status: 400, code: "invalid_request" });
	});
});

describe("lookups", () => {
	it("lookup answers the status; refresh is rate-limited with a typed 429", async () => {
		const asset = unique("cli-look");
		crun.script(asset, { processingMs: 0 });
		const status = await client.lookup(asset);
		expect(status).toMatchObject({ asset_id: asset, status: "Active", watched: false });
		expect(crun.stats().calls.byAsset[asset]).toBe(1);
		// A terminal answer: repeated lookups come from the edge cache or the object, never the upstream.
		await Promise.all(Array.from({ length: 5 }, () => client.lookup(asset)));
		expect(crun.stats().calls.byAsset[asset]).toBe(1);

		const fresh = unique("cli-refresh");
		crun.script(fresh, { processingMs: 60_000 });
		await client.lookup(fresh, { refresh: true });
		const limited = await rejection(client.lookup(fresh, { refresh: true }));
		expect(limited).toMatchObject({ status: 429, code: "rate_limited" });
		expect(limited.retryAfterS).toBeGreaterThanOrEqual(1);
	});

	it("lookup with waitS holds until the watched asset is Active, well before the wait runs out", async () => {
		const asset = unique("cli-wait");
		crun.script(asset, { processingMs: 1_500 });
		await client.register({ asset_id: asset, callback_url: `${rx.url}/cli/wait` });
		const started = Date.now();
		const status = await client.lookup(asset, { waitS: 30 });
		expect(status).toMatchObject({ asset_id: asset, status: "Active", watched: true });
		expect(Date.now() - started).toBeLessThan(25_000);
		// An unwatched asset answers at once with what the upstream says.
		const free = unique("cli-wait-free");
		crun.script(free, { processingMs: 60_000 });
		expect(await client.lookup(free, { waitS: 30 })).toMatchObject({ status: "Processing", watched: false });
	});

	it("errors carry status, code, message, details and the request id", async () => {
		const missing = await rejection(client.lookup(unique("missing-cli")));
		expect(missing).toMatchObject({ status: 404, code: "asset_not_found", name: "WatcherApiError" });
		expect(missing.requestId).toBeTruthy();
		expect(missing.message).toMatch(/does not know/);

		const invalid = await rejection(client.register({ asset_id: "ok-id", callback_url: "ftp://nope" }));
		expect(invalid).toMatchObject({ status: 400, code: "invalid_request" });
		expect(invalid.details).toMatchObject({ issues: [{ path: "callback_url" }] });

		const stranger = new WatcherClient({ baseUrl: `${rt.url}/`, token: "not-a-token" });
		expect(await rejection(stranger.lookup("x"))).toMatchObject({ status: 401, code: "unauthorized" });
	});
});

describe("upload", () => {
	it("uploads through the simulator and watches the new asset in the same call", async () => {
		const before = crun.stats().uploads;
		const result = await client.upload({
			name: "intro.mp4",
			asset_type: "Video",
			asset_url: "https://cdn.example.com/media/intro.mp4",
			callback_url: `${rx.url}/upload/intro`,
			metadata: { job: "j-7" },
		});
		expect(crun.stats().uploads).toBe(before + 1);
		expect(result.asset_id).toMatch(/^asset-[0-9a-f]+$/);
		expect(result.watch).toMatchObject({ asset_id: result.asset_id, state: "watching" });
		expect(crun.asset(result.asset_id)).toMatchObject({ name: "intro.mp4", assetType: "Video" });

		const delivery = await rx.waitFor((d) => d.path === "/upload/intro", 10_000);
		const event = await verifyCallback(asRequest(delivery), secrets.WEBHOOK_SECRET);
		expect(event).toMatchObject({
			type: "asset.active",
			data: { asset_id: result.asset_id, name: "intro.mp4", asset_type: "Video", metadata: { job: "j-7" } },
		});
	});

	it("without callback_url it only uploads; a name starting with fail ends Failed", async () => {
		const result = await client.upload({
			name: "fail-clip.mp3",
			asset_type: "Audio",
			asset_url: "https://cdn.example.com/a.mp3",
		});
		expect(result.watch).toBeNull();
		// Skip the simulated processing time; the outcome still follows the uploaded name.
		crun.script(result.asset_id, { processingMs: 0 });
		expect(await client.lookup(result.asset_id)).toMatchObject({
			status: "Failed",
			name: "fail-clip.mp3",
			asset_type: "Audio",
			watched: false,
		});
	});

	it("bad input is refused before anything is uploaded", async () => {
		const before = crun.stats().uploads;
		const err = await rejection(
			client.upload({ name: "x", asset_type: "Text" as "Image", asset_url: "https://cdn.example.com/x" }),
		);
		expect(err).toMatchObject({ status: 400, code: "invalid_request" });
		expect(crun.stats().uploads).toBe(before);
	});
});

describe("verifyCallback", () => {
	const body = JSON.stringify({
		type: "asset.failed",
		timestamp: "2026-11-28T17:00:00.000Z",
		data: { asset_id: "a" },
	});
	const signed = (secret: string, at = new Date(), payload = body) => {
		const id = `msg_${Math.random().toString(36).slice(2)}`;
		return new Request("https://receiver.example/hook", {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"webhook-id": id,
				"webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
				"webhook-signature": new Webhook(secret).sign(id, at, payload),
			},
			body: payload,
		});
	};
	const refusal = async (p: Promise<unknown>) => {
		const err = await p.then(
			() => null,
			(e: unknown) => e,
		);
		expect(err).toBeInstanceOf(CallbackVerificationError);
		return err as CallbackVerificationError;
	};

	it("accepts any of several space-separated secrets (rotation)", async () => {
		const event = await verifyCallback(
			signed(secrets.WEBHOOK_SECRET),
			`${randomWebhookSecret()} ${secrets.WEBHOOK_SECRET}`,
		);
		expect(event.type).toBe("asset.failed");
	});

	it("refuses a forged, tampered, stale or unsigned callback with a typed reason", async () => {
		const forged = await refusal(verifyCallback(signed(randomWebhookSecret()), secrets.WEBHOOK_SECRET));
		expect(forged.reason).toBe("bad_signature");

		const good = signed(secrets.WEBHOOK_SECRET);
		const tampered = body.replace("asset.failed", "asset.active");
		expect(() => verifyCallbackPayload(tampered, good.headers, secrets.WEBHOOK_SECRET)).toThrow(
			expect.objectContaining({ name: "CallbackVerificationError", reason: "bad_signature" }),
		);

		const stale = await refusal(
			verifyCallback(
				signed(secrets.WEBHOOK_SECRET, new Date(Date.now() - 10 * 60_000)),
				secrets.WEBHOOK_SECRET,
			),
		);
		expect(stale.reason).toBe("stale_timestamp");

		const unsigned = new Request("https://receiver.example/hook", { method: "POST", body });
		expect((await refusal(verifyCallback(unsigned, secrets.WEBHOOK_SECRET))).reason).toBe("missing_headers");
	});
});
