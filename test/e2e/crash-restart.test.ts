// Crash safety over real HTTP (SPEC §6): with watches in every state — watching, notifying
// against a failing receiver, a callback in flight, delivered, failed, cancelled — the runtime's
// whole process group is SIGKILLed and started again on the same persisted state. Every owed
// callback must still arrive, any duplicate must carry the same webhook-id and the same bytes,
// nothing must be sent for what was already settled, and a polling asset's status still counts
// the checks its row never recorded.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, expect, it, onTestFailed } from "vitest";
import { type CrunSim, startCrunSim } from "../../sim/crun.mjs";
import { type Delivery, type Receiver, startReceiver } from "../../sim/receiver.mjs";
import { FAST_VARS, localSecrets, type Runtime, startRuntime } from "./harness.mjs";

const secrets = localSecrets();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A callback whose send was cut by the crash is retried once its lease runs out (about 32 s here). */
const LEASE_WAIT_MS = 60_000;

type Watch = { id: string; state: string; delivery: { webhook_id: string; attempts: number } | null };

let crun: CrunSim;
let rx: Receiver;
let rt: Runtime;

beforeAll(async () => {
	[crun, rx] = await Promise.all([
		startCrunSim({ apiKey: secrets.CRUN_API_KEY, defaultProcessingMs: 0 }),
		startReceiver({ secret: secrets.WEBHOOK_SECRET }),
	]);
	rt = await startRuntime({ vars: { ...FAST_VARS, CRUN_API_BASE: crun.url }, secrets });
});

afterAll(async () => {
	await rt?.dispose();
	await Promise.all([crun?.close(), rx?.close()]);
});

async function register(assetId: string): Promise<Watch> {
	const res = await rt.fetch("/v1/watches", {
		json: { asset_id: assetId, callback_url: `${rx.url}/crash/${assetId}` },
	});
	expect(res.status).toBe(201);
	return (await res.json()) as Watch;
}

async function getWatch(id: string): Promise<Watch> {
	const res = await rt.fetch(`/v1/watches/${id}`);
	expect(res.status).toBe(200);
	return (await res.json()) as Watch;
}

async function until(
	id: string,
	ok: (w: Watch) => boolean,
	what: string,
	timeoutMs = 15_000,
): Promise<Watch> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const w = await getWatch(id);
		if (ok(w)) return w;
		if (Date.now() > deadline) throw new Error(`watch ${id} is ${w.state}, expected ${what}`);
		await sleep(100);
	}
}

const onAsset = (assetId: string) => (d: Delivery) => d.path === `/crash/${assetId}`;
const to = (assetId: string) => rx.deliveries().filter(onAsset(assetId));
const answered = (assetId: string, status: number) => (d: Delivery) =>
	onAsset(assetId)(d) && d.status === status;

function verified(d: Delivery): { type: string; data: { watch_id: string } } {
	expect(d.verified, d.error).toBe(true);
	const headers = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k, String(v)]));
	return new Webhook(secrets.WEBHOOK_SECRET).verify(d.body, headers) as {
		type: string;
		data: { watch_id: string };
	};
}

/** Every request for one watch carries one webhook-id and byte-identical bodies. */
function sameEvent(assetId: string, watchId: string): Delivery[] {
	const all = to(assetId);
	expect(all.length).toBeGreaterThan(0);
	expect(new Set(all.map((d) => d.webhookId)).size).toBe(1);
	expect(new Set(all.map((d) => d.body)).size).toBe(1);
	expect(verified(all[0] as Delivery).data.watch_id).toBe(watchId);
	return all;
}

it(
	"delivers every owed callback after the runtime is killed hard mid-flight and restarted",
	async () => {
		// What the receiver saw and what the runtime said, to tell which step went wrong.
		onTestFailed(() => {
			const t0 = rx.deliveries()[0]?.at ?? 0;
			console.error(
				rx
					.deliveries()
					.map((d) => `${d.at - t0}ms ${d.path} #${d.attempt} → ${d.status}`)
					.join("\n"),
			);
			console.error(rt.logs().slice(-40).join("\n"));
		});
		// Settled before the crash: delivered (receiver fine), failed (receiver refuses every
		// attempt), cancelled. Watching across the crash: one asset turns Active after the restart,
		// one turns Failed while the runtime is down.
		rx.setBehaviour("/crash/c-failed", 500);
		crun.script("c-cancelled", { processingMs: 60_000 });
		crun.script("c-watching", { processingMs: 600_000 });
		crun.script("c-flipped-while-down", { processingMs: 600_000 });
		const delivered = await register("c-delivered");
		const failed = await register("c-failed");
		const cancelled = await register("c-cancelled");
		const watching = await register("c-watching");
		const flipped = await register("c-flipped-while-down");
		expect((await rt.fetch(`/v1/watches/${cancelled.id}`, { method: "DELETE" })).status).toBe(200);
		await until(delivered.id, (w) => w.state === "delivered", "delivered");
		// 4 attempts on DELIVERY_SCHEDULE_S "1,1,2": about 4 s.
		await until(failed.id, (w) => w.state === "failed", "failed");

		// Notifying: the receiver refuses the first attempt; the retry is due while the runtime is down.
		rx.setBehaviour("/crash/c-notifying", 503);
		const notifying = await register("c-notifying");
		await until(
			notifying.id,
			(w) => w.state === "notifying" && (w.delivery?.attempts ?? 0) >= 1,
			"notifying after 1 attempt",
		);

		for (const w of [watching, flipped]) expect((await getWatch(w.id)).state).toBe("watching");
		expect((await getWatch(cancelled.id)).state).toBe("cancelled");
		const cancelledCalls = crun.asset("c-cancelled")?.calls ?? 0;

		// In flight: the receiver takes the request and never answers; the crash cuts it.
		rx.setBehaviour("/crash/c-in-flight", { sequence: [{ hang: true }], after: 200 });
		const inFlight = await register("c-in-flight");
		await rx.waitFor(onAsset("c-in-flight"), 10_000);
		const pidsBefore = rt.pids();
		await rt.crash();
		const crashedAt = Date.now();
		expect(pidsBefore.length).toBeGreaterThanOrEqual(2); // the runtime process and workerd
		expect(rt.pids()).toEqual([]);
		expect(await fetch(`${rt.url}/healthz`).catch(() => "refused")).toBe("refused");

		// While it is down: the failing receivers recover, one watched asset turns Failed.
		rx.setBehaviour("/crash/c-notifying", 200);
		rx.setBehaviour("/crash/c-failed", 200);
		crun.flip("c-flipped-while-down", "Failed");
		await sleep(500);
		await rt.start();
		expect((await rt.fetch("/healthz")).status).toBe(200);
		// Its uneventful checks wrote nothing but their alarms, yet after the hard restart the status
		// still counts them: derived from the plan and the alarm that survived (a check cut by the
		// crash, or one in flight now, may be on either side).
		const status = (await (await rt.fetch("/v1/assets/c-watching")).json()) as {
			checks: number;
			next_check_at: string;
		};
		const calls = crun.asset("c-watching")?.calls ?? 0;
		expect(calls).toBeGreaterThan(5);
		expect(Math.abs(status.checks - calls)).toBeLessThanOrEqual(1);
		expect(typeof status.next_check_at).toBe("string");
		crun.flip("c-watching", "Active");

		// Owed callbacks arrive: the retry of the notifying one, both watched assets' events.
		await rx.waitFor(answered("c-notifying", 200), 15_000);
		const notifyingAll = sameEvent("c-notifying", notifying.id);
		expect(notifyingAll.length).toBeGreaterThanOrEqual(2);
		expect((notifyingAll.at(-1) as Delivery).at).toBeGreaterThan(crashedAt);
		expect(verified(await rx.waitFor(answered("c-watching", 200), 15_000)).type).toBe("asset.active");
		expect(verified(await rx.waitFor(answered("c-flipped-while-down", 200), 15_000)).type).toBe(
			"asset.failed",
		);

		// A failed watch stays failed across the crash, and its redelivery is the same event.
		expect((await getWatch(failed.id)).state).toBe("failed");
		const failedAttempts = to("c-failed").length;
		expect(failedAttempts).toBe(4);
		expect((await rt.fetch(`/v1/watches/${failed.id}/redeliver`, { method: "POST" })).status).toBe(202);
		await rx.waitFor(answered("c-failed", 200), 10_000);
		expect(sameEvent("c-failed", failed.id)).toHaveLength(failedAttempts + 1);

		// The cut send is retried when its lease runs out: a duplicate, same webhook-id, same bytes.
		await rx.waitFor(answered("c-in-flight", 200), LEASE_WAIT_MS);
		expect(sameEvent("c-in-flight", inFlight.id)).toHaveLength(2);

		// Final states; nothing sent for what was settled before the crash.
		const states = await Promise.all(
			[watching, flipped, notifying, delivered, failed, inFlight, cancelled].map(
				async (w) => (await getWatch(w.id)).state,
			),
		);
		expect(states).toEqual([
			"delivered",
			"delivered",
			"delivered",
			"delivered",
			"delivered",
			"delivered",
			"cancelled",
		]);
		expect(sameEvent("c-delivered", delivered.id)).toHaveLength(1);
		expect(sameEvent("c-watching", watching.id)).toHaveLength(1);
		expect(sameEvent("c-flipped-while-down", flipped.id)).toHaveLength(1);
		expect(to("c-cancelled")).toHaveLength(0);
		expect(crun.asset("c-cancelled")?.calls ?? 0).toBeLessThanOrEqual(cancelledCalls + 1);
	},
	LEASE_WAIT_MS + 60_000,
);
