// Every receiver behaviour of SPEC §4: 2xx delivers, 410 cancels, everything else is retried on
// the schedule (Retry-After honoured, redirects never followed), a receiver down for hours is
// still reached, and one slow receiver does not hold up the other watches of the same asset.
// Receiver origins (docs/delivery.md): an origin that trips is paused and its deliveries wait
// without spending attempts; a failed probe, a probe that drains them all, a crash mid-probe, a
// restart, an origin object that lost its waiters, a wait longer than the schedule, two tokens.
import {
	abortAllDurableObjects,
	evictDurableObject,
	runDurableObjectAlarm,
	runInDurableObject,
} from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../src/core/ids";
import { scheduleSpanMs } from "../../src/delivery/retry-policy";
import { forgetOrigins } from "../../src/receivers/known-origins";
import type { OriginRef } from "../../src/receivers/origin";
import type { ReceiverOriginRpc } from "../../src/receivers/receiver-origin";
import { HOLD_EXPIRED_ERROR } from "../../src/watcher/delivery-flow";
import { call, json, type ReceiverAnswer, TOKEN_A, TOKEN_B, unique, useFakeWorld } from "../support/fakes";
import {
	alarmAt,
	dieDuringAlarm,
	originAlarmAt,
	originStubOf,
	step,
	stepOrigin,
	stepUntil,
	stubOf,
} from "../support/steps";

const world = useFakeWorld();

type Watch = {
	id: string;
	state: string;
	delivery: {
		attempts: number;
		last_status: number | null;
		last_error: string | null;
		next_attempt_at: string | null;
		webhook_id: string;
		waiting_for_receiver_since: string | null;
	} | null;
};

async function activeWatch(answers: ReceiverAnswer[], url?: string) {
	const asset = unique("rcv");
	const cb = url ?? `https://receiver.example/${asset}`;
	world.fakes.script(asset, { status: "Active" });
	world.fakes.receiver(cb, ...answers);
	const w = await json<Watch>(
		await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: cb } }),
	);
	return { asset, cb, id: w.id };
}
const getWatch = async (id: string) => json<Watch>(await call("GET", `/v1/watches/${id}`));

describe("receiver answers", () => {
	it.each([200, 201, 202, 204, 299])("%i delivers", async (status) => {
		const { asset, id } = await activeWatch([status]);
		await step(world.vclock, asset);
		expect(await getWatch(id)).toMatchObject({
			state: "delivered",
			delivery: { attempts: 1, last_status: status },
		});
	});

	it.each([301, 302, 303, 307, 308, 400, 401, 403, 404, 409, 422, 500, 502, 503, 504])(
		"%i is retried 5 s later (jitter pinned), and redirects are never followed",
		async (status) => {
			const { asset, cb, id } = await activeWatch([
				{ status, headers: { location: "https://elsewhere.example/steal" } },
				204,
			]);
			await step(world.vclock, asset);
			const sentAt = world.vclock.t;
			const w = await getWatch(id);
			expect(w).toMatchObject({ state: "notifying", delivery: { attempts: 1, last_status: status } });
			expect(w.delivery?.last_error).toContain(String(status));
			expect(Date.parse(w.delivery?.next_attempt_at as string) - sentAt).toBe(5000);
			expect(
				world.fakes.deliveries.filter((d) => d.url.startsWith("https://elsewhere.example")),
			).toHaveLength(0);
			await step(world.vclock, asset);
			expect((await getWatch(id)).state).toBe("delivered");
			expect(world.fakes.deliveriesTo(cb)).toHaveLength(2);
		},
	);

	it("410 cancels the watch", async () => {
		const { asset, id } = await activeWatch([410]);
		await step(world.vclock, asset);
		expect((await getWatch(id)).state).toBe("cancelled");
	});

	it("429 with Retry-After (seconds) waits that long instead of 5 s", async () => {
		const { asset, id } = await activeWatch([{ status: 429, headers: { "retry-after": "120" } }, 204]);
		await step(world.vclock, asset);
		const w = await getWatch(id);
		expect(Date.parse(w.delivery?.next_attempt_at as string) - world.vclock.t).toBe(120_000);
	});

	it("503 with an HTTP-date Retry-After waits until that date, capped at an hour", async () => {
		const far = new Date(world.vclock.t + 6 * 3_600_000).toUTCString();
		const { asset, id } = await activeWatch([{ status: 503, headers: { "retry-after": far } }, 204]);
		await step(world.vclock, asset);
		const w = await getWatch(id);
		expect(Date.parse(w.delivery?.next_attempt_at as string) - world.vclock.t).toBe(3_600_000);
	});

	it("a timeout past CALLBACK_TIMEOUT_MS is retried", async () => {
		const { asset, id } = await activeWatch([{ hang: true }, 204]);
		await step(world.vclock, asset);
		const w = await getWatch(id);
		expect(w).toMatchObject({ state: "notifying", delivery: { attempts: 1, last_status: null } });
		expect(w.delivery?.last_error).toMatch(/timed out after 1000 ms/);
		await step(world.vclock, asset);
		expect((await getWatch(id)).state).toBe("delivered");
	});

	it("connection refused is retried", async () => {
		const { asset, id } = await activeWatch([{ throws: "connect ECONNREFUSED" }, 204]);
		await step(world.vclock, asset);
		expect((await getWatch(id)).delivery?.last_error).toMatch(/network error/);
		await step(world.vclock, asset);
		expect((await getWatch(id)).state).toBe("delivered");
	});

	it("a receiver down for hours is reached when it is back, with the same webhook-id", async () => {
		const down = { throws: "connect ECONNREFUSED" } as const;
		const { asset, cb, id } = await activeWatch([down, down, down, down, down, 204]);
		const start = world.vclock.t;
		await stepUntil(world.vclock, asset, async () => (await getWatch(id)).state === "delivered");
		// 5 s + 5 min + 30 min + 2 h + 5 h of schedule passed before the sixth attempt.
		expect(world.vclock.t - start).toBe((5 + 300 + 1800 + 7200 + 18000) * 1000);
		const ids = new Set(world.fakes.deliveriesTo(cb).map((d) => d.headers["webhook-id"]));
		expect(ids.size).toBe(1);
	});
});

describe("one asset, several receivers", () => {
	it("a slow receiver does not hold up the others", async () => {
		const asset = unique("slow");
		world.fakes.script(asset, { status: "Active" });
		const slow = `https://slow.example/${asset}`;
		const fast = [1, 2, 3].map((i) => `https://fast${i}.example/${asset}`);
		world.fakes.receiver(slow, { hang: true }, 204);
		for (const u of [slow, ...fast])
			await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: u } });

		const started = Date.now();
		const arrivals: Record<string, number> = {};
		const seen = new Set<number>();
		const poll = setInterval(() => {
			world.fakes.deliveries.forEach((d, i) => {
				if (!seen.has(i)) {
					seen.add(i);
					arrivals[d.url] = Date.now() - started;
				}
			});
		}, 5);
		await step(world.vclock, asset);
		clearInterval(poll);
		const took = Date.now() - started;
		// The slow one timed out after a second; the fast ones were all sent at the start, not after it.
		expect(took).toBeGreaterThanOrEqual(1000);
		for (const u of fast) expect(arrivals[u]).toBeLessThan(500);
		const states = await Promise.all(
			world.fakes.deliveries
				.filter((d) => fast.includes(d.url))
				.map(async (d) => (await getWatch(d.json.data.watch_id as string)).state),
		);
		expect(states).toEqual(["delivered", "delivered", "delivered"]);
	});
});

// ---- receiver origins ---------------------------------------------------------------------

type Receiver = {
	origin: string;
	state: string;
	consecutive_failures: number;
	last_error: string | null;
	last_success_at: string | null;
	next_probe_at: string | null;
	pending_deliveries: number;
};

/** RECEIVER_TRIP_FAILURES and RECEIVER_PROBE_S as the tests run (wrangler.toml's defaults). */
const TRIP = 10;
const PROBE_MS = 60_000;
let ownerA = "";
beforeAll(async () => {
	ownerA = await hashToken(TOKEN_A);
});

/** `n` watches, one asset each, all Active at once, their callbacks on one origin that is down. */
async function outage(n: number, token = TOKEN_A) {
	const tag = unique("origin");
	const origin = `https://${tag}.example`;
	world.fakes.downOrigins.add(origin);
	const watches: { asset: string; id: string; url: string }[] = [];
	for (let i = 0; i < n; i++) {
		const asset = `${tag}-${i}`;
		const url = `${origin}/hooks/${i}`;
		world.fakes.script(asset, { status: "Active" });
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { token, body: { asset_id: asset, callback_url: url } }),
		);
		watches.push({ asset, id: w.id, url });
	}
	const ref: OriginRef = { owner: token === TOKEN_A ? ownerA : await hashToken(token), origin };
	return { origin, ref, watches };
}

type Outage = Awaited<ReturnType<typeof outage>>;
const stepAll = async (ws: Outage["watches"]) => {
	for (const w of ws) await step(world.vclock, w.asset);
};
/** Runs the alarms already due, without moving the clock. */
const stepDue = async (ws: Outage["watches"]) => {
	for (const w of ws) {
		const at = await alarmAt(w.asset);
		if (at !== null && at <= world.vclock.t) await runDurableObjectAlarm(stubOf(w.asset));
	}
};
const refusedTo = (origin: string) => world.fakes.refused.filter((r) => r.url.startsWith(origin)).length;
async function receiverOf(origin: string, token = TOKEN_A): Promise<Receiver | undefined> {
	const res = await call("GET", "/v1/receivers?limit=100", { token });
	expect(res.status).toBe(200);
	return (await json<{ receivers: Receiver[] }>(res)).receivers.find((r) => r.origin === origin);
}

/** An outage that has paused its origin, with every delivery waiting (the first ones after their 5 s retry). */
async function pausedOutage(n: number): Promise<Outage> {
	const o = await outage(n);
	await stepDue(o.watches);
	world.vclock.advance(5_000);
	await stepDue(o.watches);
	expect(await receiverOf(o.origin)).toMatchObject({ state: "paused", pending_deliveries: n });
	return o;
}

describe("a receiver origin that fails", () => {
	it(`trips after ${TRIP} consecutive failed attempts: paused, its deliveries wait without spending attempts`, async () => {
		const { origin, watches } = await outage(TRIP + 2);
		await stepAll(watches);
		// The 11th and 12th were not sent: their asset knew the origin paused and asked first.
		expect(refusedTo(origin)).toBe(TRIP);
		expect(await receiverOf(origin)).toMatchObject({
			state: "paused",
			consecutive_failures: TRIP,
			last_error: "network error: connect ECONNREFUSED",
		});
		const held = await getWatch((watches[TRIP + 1] as { id: string }).id);
		expect(held).toMatchObject({ state: "notifying", delivery: { attempts: 0 } });
		expect(held.delivery?.waiting_for_receiver_since).not.toBeNull();
		// The first nine were due again 5 s later: they find it paused and wait too.
		world.vclock.advance(5_000);
		await stepAll(watches);
		expect(refusedTo(origin)).toBe(TRIP);
		expect((await receiverOf(origin))?.pending_deliveries).toBe(TRIP + 2);
		// Five hours on their own alarms (no probe run): not one attempt more, nothing given up.
		for (let h = 0; h < 5; h++) {
			world.vclock.advance(3_600_000);
			await stepAll(watches);
		}
		expect(refusedTo(origin)).toBe(TRIP);
		for (const w of watches) expect((await getWatch(w.id)).state).toBe("notifying");
	});

	it("counts consecutive failures only: a success in between starts the count again", async () => {
		const { origin, watches } = await outage(TRIP - 1);
		await stepAll(watches);
		const ok = unique("ok");
		world.fakes.script(ok, { status: "Active" });
		world.fakes.downOrigins.delete(origin);
		await call("POST", "/v1/watches", { body: { asset_id: ok, callback_url: `${origin}/ok` } });
		await step(world.vclock, ok);
		expect(await receiverOf(origin)).toMatchObject({ state: "healthy", consecutive_failures: 0 });
		expect((await receiverOf(origin))?.last_success_at).not.toBeNull();
		world.fakes.downOrigins.add(origin);
		world.vclock.advance(5_000);
		await stepAll(watches);
		expect(await receiverOf(origin)).toMatchObject({ state: "failing", consecutive_failures: TRIP - 1 });
	});

	it("a probe that fails: one attempt, counted, and the next probe one interval later", async () => {
		const { origin, ref, watches } = await pausedOutage(TRIP);
		const before = refusedTo(origin);
		const probeAt = (await originAlarmAt(ref)) as number;
		await stepOrigin(world.vclock, ref);
		expect(world.vclock.t).toBe(probeAt);
		expect(refusedTo(origin)).toBe(before + 1);
		const r = await receiverOf(origin);
		expect(r).toMatchObject({ state: "paused", consecutive_failures: TRIP + 1, pending_deliveries: TRIP });
		expect(Date.parse(r?.next_probe_at as string)).toBe(probeAt + PROBE_MS);
		expect(await originAlarmAt(ref)).toBe(probeAt + PROBE_MS);
		const attempts = await Promise.all(watches.map(async (w) => (await getWatch(w.id)).delivery?.attempts));
		expect(attempts.sort()).toEqual([...Array(TRIP - 1).fill(1), 2]);
	});

	it("a probe that succeeds makes every waiting delivery due at once, and each is delivered once", async () => {
		const { origin, ref, watches } = await pausedOutage(TRIP + 5);
		world.fakes.downOrigins.delete(origin);
		await stepOrigin(world.vclock, ref);
		// The probe went out and was delivered; every other asset was resumed, due now.
		const now = world.vclock.t;
		for (const w of watches) expect((await alarmAt(w.asset)) ?? now).toBeLessThanOrEqual(now);
		await stepAll(watches);
		for (const w of watches) {
			expect(world.fakes.deliveriesTo(w.url)).toHaveLength(1);
			expect((await getWatch(w.id)).state).toBe("delivered");
		}
		expect(world.vclock.t).toBe(now);
		expect(await receiverOf(origin)).toMatchObject({
			state: "healthy",
			consecutive_failures: 0,
			pending_deliveries: 0,
		});
		expect(await originAlarmAt(ref)).toBeNull();
	});
});

describe("reports that arrive together", () => {
	it("all count, even on the origin's very first calls (its row and directory entry being created)", async () => {
		const ref = { owner: ownerA, origin: `https://${unique("together")}.example` };
		const stub = (await originStubOf(ref)) as unknown as ReceiverOriginRpc;
		const answers = await Promise.all(
			Array.from({ length: TRIP + 2 }, (_, i) =>
				stub.report(
					ref,
					{ ok: false, error: "connect ECONNREFUSED" },
					{ asset_id: `a${i}`, watch_id: `w${i}` },
				),
			),
		);
		expect(answers.filter((a) => a.state === "paused").length).toBeGreaterThanOrEqual(3);
		expect(await stub.record()).toMatchObject({ state: "paused", failures: TRIP + 2 });
	});
});

describe("a paused origin survives", () => {
	it("a crash mid-probe: the next probe goes out an interval later and drains them all", async () => {
		const { origin, ref, watches } = await pausedOutage(TRIP);
		world.fakes.downOrigins.delete(origin);
		for (const w of watches) world.fakes.receiver(w.url, { hang: true });
		await dieDuringAlarm(world.vclock, await originStubOf(ref), () =>
			world.fakes.deliveries.some((d) => d.url.startsWith(origin)),
		);
		for (const w of watches) world.fakes.receiver(w.url, 204);
		// The probe's own lease: the next one is due one interval after the one that died.
		expect(await originAlarmAt(ref)).toBe(world.vclock.t + PROBE_MS);
		await stepOrigin(world.vclock, ref);
		await stepAll(watches);
		for (const w of watches) {
			expect((await getWatch(w.id)).state).toBe("delivered");
			const ds = world.fakes.deliveriesTo(w.url);
			// The probe that died mid-way may be sent again: a duplicate, with the same webhook-id.
			expect(ds.length).toBeGreaterThanOrEqual(1);
			expect(ds.length).toBeLessThanOrEqual(2);
			expect(new Set(ds.map((d) => d.headers["webhook-id"])).size).toBe(1);
		}
	});

	it("a restart (every object and this isolate's memory gone): the waiting deliveries come through", async () => {
		const { origin, ref, watches } = await pausedOutage(TRIP);
		await abortAllDurableObjects();
		forgetOrigins();
		world.fakes.downOrigins.delete(origin);
		await stepOrigin(world.vclock, ref);
		await stepAll(watches);
		for (const w of watches) {
			expect((await getWatch(w.id)).state).toBe("delivered");
			expect(world.fakes.deliveriesTo(w.url)).toHaveLength(1);
		}
	});

	it("an origin object that lost its waiters: each delivery comes back on its own alarm", async () => {
		const { origin, ref, watches } = await pausedOutage(TRIP);
		const pausedAt = world.vclock.t;
		// Its storage gone (alarm and waiters with it), and the instance with it.
		const stub = await originStubOf(ref);
		await runInDurableObject(stub, (_o, state) => state.storage.deleteAll());
		await evictDurableObject(stub);
		world.fakes.downOrigins.delete(origin);
		// No probe, no resume: only the assets' own alarms, two probe intervals after they began to wait.
		await stepAll(watches);
		for (const w of watches) {
			expect((await getWatch(w.id)).state).toBe("delivered");
			expect(world.fakes.deliveriesTo(w.url)).toHaveLength(1);
		}
		expect(world.vclock.t - pausedAt).toBeLessThanOrEqual(2 * PROBE_MS);
	});

	it("a wait longer than the whole DELIVERY_SCHEDULE_S span fails, as running out of retries would", async () => {
		const { origin, watches } = await pausedOutage(TRIP);
		const w = watches[0] as Outage["watches"][number];
		const since = Date.parse((await getWatch(w.id)).delivery?.waiting_for_receiver_since as string);
		await stepUntil(world.vclock, w.asset, async () => (await getWatch(w.id)).state === "failed", 60);
		const failed = await getWatch(w.id);
		expect(failed.delivery).toMatchObject({ attempts: 1, last_error: HOLD_EXPIRED_ERROR });
		expect(world.vclock.t - since).toBe(scheduleSpanMs([5, 300, 1800, 7200, 18000, 36000, 36000]));
		expect(refusedTo(`${origin}/hooks/0`)).toBe(1);
		// It no longer counts as waiting; the others still do.
		expect((await receiverOf(origin))?.pending_deliveries).toBe(TRIP - 1);
		// A failed watch can be redelivered like any other.
		expect((await call("POST", `/v1/watches/${w.id}/redeliver`)).status).toBe(202);
	});
});

describe("tenancy", () => {
	it("two tokens on one origin are kept apart: each has its own circuit, and sees only its own", async () => {
		const { origin, watches } = await outage(TRIP);
		await stepAll(watches);
		expect((await receiverOf(origin))?.state).toBe("paused");
		// Token B's delivery to the same origin is tried: A's pause is A's alone.
		const b = unique("tenant-b");
		world.fakes.script(b, { status: "Active" });
		await call("POST", "/v1/watches", { token: TOKEN_B, body: { asset_id: b, callback_url: `${origin}/b` } });
		await step(world.vclock, b);
		expect(refusedTo(`${origin}/b`)).toBe(1);
		expect(await receiverOf(origin, TOKEN_B)).toMatchObject({
			state: "failing",
			consecutive_failures: 1,
			pending_deliveries: 0,
		});
		expect(await receiverOf(origin)).toMatchObject({ state: "paused", consecutive_failures: TRIP });
		// B's list holds B's origins only.
		const bList = await json<{ receivers: Receiver[] }>(
			await call("GET", "/v1/receivers", { token: TOKEN_B }),
		);
		const aList = await json<{ receivers: Receiver[] }>(await call("GET", "/v1/receivers?limit=100"));
		const aOnly = aList.receivers.map((r) => r.origin).filter((o) => o !== origin);
		for (const r of bList.receivers) expect(aOnly).not.toContain(r.origin);
	});
});
