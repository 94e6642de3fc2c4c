import { afterEach, beforeEach, expect, it } from "vitest";
import { call, Fakes, json, VirtualClock } from "../support/fakes";

let fakes: Fakes;
let vclock: VirtualClock;
beforeEach(() => {
	fakes = new Fakes().install();
	vclock = new VirtualClock().install();
});
afterEach(() => {
	fakes.uninstall();
	vclock.uninstall();
});

it("registers and looks up", async () => {
	const h = await call("GET", "/healthz", { token: null });
	console.log(h.status, await h.text(), h.headers.get("x-request-id"));
	const r = await call("POST", "/v1/watches", { body: { asset_id: "a-1", callback_url: "https://receiver.example/hook" } });
	const w = await json(r);
	console.log(r.status, JSON.stringify(w));
	expect(r.status).toBe(201);
	const r2 = await call("GET", `/v1/watches/${w.id}`);
	console.log(r2.status, await r2.text());
	const r3 = await call("GET", "/v1/assets/a-1");
	console.log(r3.status, await r3.text());
});
