// What a whole asset lifecycle costs in billed rows: register → checks while Processing → Active →
// one delivered callback → purge after RETENTION_S, measured per Durable Object class from each
// statement's own cursor (test/support/meter.ts), and what one more uneventful check adds. (The
// purge's deleteAll is not a statement and is not counted here.)

import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSweep } from "../../src/sweep/sweep";
import { call, unique, useFakeWorld } from "../support/fakes";
import { Meter } from "../support/meter";
import { stepUntil } from "../support/steps";

const RETENTION_MS = Number(env.RETENTION_S) * 1000;
const world = useFakeWorld({ resetStorage: true });
let meter: Meter;

beforeAll(async () => {
	meter = await new Meter().install();
});
afterAll(() => meter.uninstall());

/** One lifecycle with `processing` Processing answers before Active; its billed rows per class. */
async function lifecycle(processing: number) {
	meter.reset();
	const asset = unique("cost");
	const url = `https://receiver.example/${asset}`;
	world.fakes.script(asset, ...Array.from({ length: processing }, () => ({ status: "Processing" })), {
		status: "Active",
	});
	const res = await call("POST", "/v1/watches", { body: { asset_id: asset, callback_url: url } });
	expect(res.status).toBe(201);
	await stepUntil(world.vclock, asset, () => world.fakes.deliveriesTo(url).length === 1, 200);
	world.vclock.advance(RETENTION_MS + 3_600_000);
	expect((await runSweep(env)).purged).toBe(1);
	return meter.totals();
}

/** Billed rows (rows written + alarm writes) over every class. */
const billed = (t: Awaited<ReturnType<typeof lifecycle>>) =>
	Object.values(t).reduce((n, c) => n + c.rowsWritten + c.alarmWrites, 0);

describe("rows per lifecycle", () => {
	it("one watch, register → Active → delivered → purged: fixed rows and rows per extra check", async () => {
		await lifecycle(1); // the index shards' own schema, once per deployment
		const short = await lifecycle(1);
		const long = await lifecycle(21);
		const perCheck = (billed(long) - billed(short)) / 20;
		const fixed = billed(short) - 2 * perCheck;
		console.log(JSON.stringify({ fixed, perCheck, short, long }));
		// Today's engine: each check writes the asset row twice (its lease, its answer) and its alarm twice.
		expect(perCheck).toBeLessThanOrEqual(4.5);
		expect(fixed).toBeLessThanOrEqual(22);
	});
});
