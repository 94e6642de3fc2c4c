// Redeliver on a cancelled watch: a 409 that says the watch is cancelled (`watch_cancelled`), not
// that it has "no event yet" — a cancelled watch never gets one.
import { describe, expect, it } from "vitest";
import { call, json, unique, useFakeWorld } from "../support/fakes";

useFakeWorld();

type ErrorBody = { error: { code: string; message: string } };

describe("POST /v1/watches/:id/redeliver on a cancelled watch", () => {
	it("is 409 and says the watch is cancelled (today's message)", async () => {
		const a = unique("redeliver-cancelled");
		const w = await json<{ id: string }>(
			await call("POST", "/v1/watches", {
				body: { asset_id: a, callback_url: `https://receiver.example/${a}` },
			}),
		);
		expect((await call("DELETE", `/v1/watches/${w.id}`)).status).toBe(200);
		const res = await call("POST", `/v1/watches/${w.id}/redeliver`);
		expect(res.status).toBe(409);
		expect((await json<ErrorBody>(res)).error.message).toBe("the watch is cancelled");
	});

	it("answers code watch_cancelled, not no_event_yet", async () => {
		const a = unique("redeliver-cancelled-code");
		const w = await json<{ id: string }>(
			await call("POST", "/v1/watches", {
				body: { asset_id: a, callback_url: `https://receiver.example/${a}` },
			}),
		);
		await call("DELETE", `/v1/watches/${w.id}`);
		const res = await call("POST", `/v1/watches/${w.id}/redeliver`);
		expect(res.status).toBe(409);
		expect((await json<ErrorBody>(res)).error.code).toBe("watch_cancelled");
	});
});
