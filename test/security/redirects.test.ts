// Deliveries never follow redirects: a receiver answering 3xx with a Location (an internal
// address, or anywhere else) gets no request there; the attempt counts as failed and is retried
// at the registered URL. The fetch mock here follows redirects the way fetch does unless told
// `redirect: "manual"`, so the test fails if the callback sender ever stops saying so.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sendCallback } from "../../src/delivery/send";
import { call, json, UPSTREAM, VirtualClock, WEBHOOK_SECRET } from "../support/fakes";
import { step, stepUntil } from "../support/steps";

type Hit = { url: string; redirect: string; authorization: string | null };

let hits: Hit[];
let answers: Map<string, number[]>;
let vclock: VirtualClock;
let spy: ReturnType<typeof vi.spyOn>;

/** What fetch itself does with a 3xx: follow it ("follow"), fail ("error"), or hand it over ("manual"). */
async function fetchLike(input: RequestInfo | URL, init?: RequestInit, hops = 0): Promise<Response> {
	const req = new Request(input as RequestInfo, init);
	const url = new URL(req.url);
	if (url.origin === UPSTREAM) {
		return Response.json({
			code: 200,
			message: "success",
			data: { AssetId: url.searchParams.get("asset_id"), Status: "Active" },
		});
	}
	hits.push({ url: req.url, redirect: req.redirect, authorization: req.headers.get("authorization") });
	const queue = answers.get(req.url) ?? [];
	const status = (queue.length > 1 ? queue.shift() : queue[0]) ?? 204;
	if (status < 300 || status > 399) return new Response(null, { status });
	const location = `https://169.254.169.254/latest/meta-data/${hops}`;
	const redirect = new Response(null, { status, headers: { location } });
	if (req.redirect === "manual") return redirect;
	if (req.redirect === "error") throw new TypeError("redirect refused");
	if (hops > 5) throw new TypeError("too many redirects");
	return fetchLike(location, { method: req.method, headers: req.headers, body: init?.body }, hops + 1);
}

beforeEach(() => {
	hits = [];
	answers = new Map();
	vclock = new VirtualClock().install();
	spy = vi
		.spyOn(globalThis, "fetch")
		.mockImplementation((input, init) => fetchLike(input as RequestInfo, init));
});
afterEach(() => {
	spy.mockRestore();
	vclock.uninstall();
});

describe("redirects", () => {
	it.each([301, 302, 303, 307, 308])(
		"sendCallback hands a %i back as the answer, and nothing reaches its Location",
		async (status) => {
			const url = `https://receiver.example/redirect/${status}`;
			answers.set(url, [status]);
			const result = await sendCallback(
				{ url, webhookId: "msg_x", body: "{}", headers: { authorization: "Bearer receiver-only" } },
				[WEBHOOK_SECRET],
				1000,
				vclock.t,
			);
			expect(result).toMatchObject({ kind: "response", status });
			expect(hits.map((h) => h.url)).toEqual([url]);
			expect(hits[0]?.redirect).toBe("manual");
		},
	);

	it("a watch whose receiver redirects is retried at its own URL, and its credentials never travel", async () => {
		const asset = `redirect-${Math.random().toString(36).slice(2, 8)}`;
		const url = `https://receiver.example/${asset}`;
		answers.set(url, [302, 307, 204]);
		const res = await call("POST", "/v1/watches", {
			body: {
				asset_id: asset,
				callback_url: url,
				callback_headers: { authorization: "Bearer receiver-only" },
			},
		});
		expect(res.status).toBe(201);
		const { id } = await json<{ id: string }>(res);
		const watch = async () =>
			json<{ state: string; delivery: { attempts: number; last_status: number | null } | null }>(
				await call("GET", `/v1/watches/${id}`),
			);

		await stepUntil(vclock, asset, () => hits.length >= 1);
		expect(await watch()).toMatchObject({ state: "notifying", delivery: { attempts: 1, last_status: 302 } });
		await step(vclock, asset);
		expect(await watch()).toMatchObject({ state: "notifying", delivery: { attempts: 2, last_status: 307 } });
		await step(vclock, asset);
		expect((await watch()).state).toBe("delivered");

		expect(hits.map((h) => h.url)).toEqual([url, url, url]);
		expect(hits.every((h) => h.redirect === "manual")).toBe(true);
		expect(hits.filter((h) => h.url.includes("169.254.169.254"))).toEqual([]);
		expect(hits.every((h) => h.authorization === "Bearer receiver-only")).toBe(true);
	});
});
