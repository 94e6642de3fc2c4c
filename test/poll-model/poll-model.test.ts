// The PollModel object: samples in, snapshots out, one row per type, written once per ten samples
// of a busy type and at once for a quiet one, so a restart loses at most the few not yet written.
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FLUSH_MS, FLUSH_SAMPLES, MAX_TYPES } from "../../src/poll-model/poll-model";
import { unique, useFakeWorld } from "../support/fakes";

const world = useFakeWorld();
const model = () => env.POLL_MODEL.getByName("global");
const stored = (type: string) =>
	runInDurableObject(
		model(),
		(_o, s) =>
			s.storage.sql
				.exec<{ model: string }>("SELECT model FROM models WHERE type = ?", type)
				.toArray()
				.map((r) => (JSON.parse(r.model) as { s: number[] }).s.length)
				.at(0) ?? 0,
	);
const samplesOf = async (type: string) =>
	(await model().snapshots()).types.find((t) => t.type === type)?.samples ?? 0;

describe("the poll model object", () => {
	it("a busy type writes its row once per ten samples; every sample is in the snapshot at once", async () => {
		const type = unique("Busy");
		for (let i = 0; i < 25; i++) await model().addSample(type, 1000 + i);
		expect(await samplesOf(type)).toBe(25);
		// Written with the 1st, the 11th and the 21st.
		expect(await stored(type)).toBe(21);
		// A restart keeps what was written, and loses at most FLUSH_SAMPLES - 1 of a busy type.
		await evictDurableObject(model()).catch(() => {});
		expect(await samplesOf(type)).toBe(21);
		expect(25 - 21).toBeLessThan(FLUSH_SAMPLES);
	});

	it("a quiet type (a minute between samples) writes every sample", async () => {
		const type = unique("Quiet");
		for (let i = 0; i < 3; i++) {
			await model().addSample(type, 5000);
			world.vclock.advance(FLUSH_MS);
		}
		expect(await stored(type)).toBe(3);
	});

	it("keeps at most MAX_TYPES types, whatever strings the upstream sends", async () => {
		for (let i = 0; i < MAX_TYPES + 5; i++) await model().addSample(unique("Junk"), 1000);
		expect((await model().snapshots()).types.length).toBeLessThanOrEqual(MAX_TYPES);
	});
});
