// Every receiver behaviour of SPEC §4: 2xx delivers, 410 cancels, everything else is retried on
// the schedule (Retry-After honoured, redirects never followed), a receiver down for hours is
// still reached, and one slow receiver does not hold up the other watches of the same asset.
import { describe, expect, it } from "vitest";
import { call, json, type ReceiverAnswer, unique, useFakeWorld } from "../support/fakes";
import { step, stepUntil } from "../support/steps";

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
