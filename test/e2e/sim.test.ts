// The two loopback peers every end-to-end test relies on: the Crun upstream simulator and the callback
// receiver. Driven over real HTTP with fetch, so a broken fake cannot make the service look right.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
	type CrunSim,
	type CrunSimConfig,
	type CrunSimStats,
	REALISTIC,
	simOptionsFromEnv,
	startCrunSim,
} from "../../sim/crun.mjs";
import { type Receiver, startReceiver } from "../../sim/receiver.mjs";
import { type DistributionSpec, fromSpec, prng, SCENARIOS } from "../../src/polling/distributions";

const KEY = "sim-test-key";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET = "whsec_c2ltLXJvdGF0ZWQtc2VjcmV0LTEyMzQ1Njc4";
const PROCESSING_MS = 80;

type Envelope = { code: number; message: string; data: Record<string, unknown> | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("crun simulator", () => {
	let sim: CrunSim;

	beforeAll(async () => {
		sim = await startCrunSim({ apiKey: KEY, defaultProcessingMs: PROCESSING_MS });
	});
	afterAll(() => sim.close());
	beforeEach(() => sim.reset());

	const info = (id: string, init: RequestInit = {}) =>
		fetch(`${sim.url}/api/v1/client/job/asset-info?asset_id=${encodeURIComponent(id)}`, {
			...init,
			headers: { "x-api-key": KEY, ...(init.headers as Record<string, string>) },
		});
	const infoJson = async (id: string) => {
		const res = await info(id);
		return { status: res.status, body: (await res.json()) as Envelope };
	};
	const control = (method: string, path: string, body?: unknown) =>
		fetch(`${sim.url}/_sim${path}`, {
			method,
			headers: { "content-type": "application/json" },
			body: body === undefined ? undefined : JSON.stringify(body),
		});

	it("answers the documented envelope, in ISO and in Unix-seconds time formats", async () => {
		sim.script("img-iso", { processingMs: 0, timeFormat: "iso", assetType: "Image", name: "cat.png" });
		sim.script("img-unix", { processingMs: 0, timeFormat: "unix" });
		const iso = await infoJson("img-iso");
		expect(iso.status).toBe(200);
		expect(iso.body).toMatchObject({
			code: 200,
			message: "success",
			data: { AssetId: "img-iso", Name: "cat.png", AssetType: "Image", Status: "Active" },
		});
		expect(Object.keys(iso.body.data ?? {}).sort()).toEqual(
			["AssetId", "AssetType", "CreateTime", "Name", "Status", "UpdateTime"].sort(),
		);
		expect(iso.body.data?.CreateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
		const unix = await infoJson("img-unix");
		expect(Number.isInteger(unix.body.data?.CreateTime)).toBe(true);
		expect(Math.abs((unix.body.data?.UpdateTime as number) - Date.now() / 1000)).toBeLessThan(60);

		// Unscripted ids spread over both formats, so a client that handles only one fails somewhere.
		const formats = new Set<string>();
		for (let i = 0; i < 16; i++) formats.add(typeof (await infoJson(`plain-${i}`)).body.data?.CreateTime);
		expect(formats).toEqual(new Set(["string", "number"]));
	});

	it("refuses a missing or wrong x-api-key with 401", async () => {
		const expected = { code: 401, message: "Unauthorized", data: null };
		const none = await fetch(`${sim.url}/api/v1/client/job/asset-info?asset_id=a1`);
		expect(none.status).toBe(401);
		expect(await none.json()).toEqual(expected);
		const wrong = await info("a1", { headers: { "x-api-key": "nope" } });
		expect(wrong.status).toBe(401);
		expect(await wrong.json()).toEqual(expected);
	});

	it("keeps an asset Processing for processingMs after its first query, then Active", async () => {
		sim.script("slow-one", { processingMs: 150, timeFormat: "unix" });
		const first = await infoJson("slow-one");
		expect(first.body.data?.Status).toBe("Processing");
		expect(first.body.data?.UpdateTime).toBe(first.body.data?.CreateTime);
		await sleep(180);
		const later = await infoJson("slow-one");
		expect(later.body).toMatchObject({ code: 200, message: "success", data: { Status: "Active" } });
		expect(later.body.data?.UpdateTime as number).toBeGreaterThanOrEqual(
			later.body.data?.CreateTime as number,
		);
	});

	it("answers Failed with its error message in data and a non-success message", async () => {
		sim.script("broken", { processingMs: 0, outcome: "Failed", errorMessage: "unsupported codec" });
		const { body } = await infoJson("broken");
		expect(body.code).toBe(200);
		expect(body.message).not.toBe("success");
		expect(body.data).toMatchObject({ Status: "Failed", ErrorMessage: "unsupported codec" });
	});

	it("gives unscripted ids their documented default behaviour", async () => {
		const missing = await infoJson("missing-1");
		expect(missing).toEqual({ status: 404, body: { code: 404, message: "Asset not found", data: null } });
		const bad = await infoJson("invalid-1");
		expect(bad.status).toBe(422);
		expect(bad.body.code).toBe(422);
		expect((await infoJson("fail-1")).body.data?.Status).toBe("Processing");
		expect((await infoJson("ok-1")).body.data?.Status).toBe("Processing");
		await sleep(PROCESSING_MS + 30);
		const failed = await infoJson("fail-1");
		expect(failed.body.data?.Status).toBe("Failed");
		expect(failed.body.data?.ErrorMessage).toEqual(expect.any(String));
		expect((await infoJson("ok-1")).body.data?.Status).toBe("Active");
	});

	it("answers scripted error faults in order, then resumes normal answers", async () => {
		const codes = [401, 402, 404, 422, 455, 500, 501, 505];
		sim.script("faulty", {
			processingMs: 0,
			faults: [
				...codes.map((status) => ({ status })),
				{ status: 429, retryAfter: "7" },
				{ httpStatus: 200, bodyCode: 404 },
				{ status: 500, bodyCode: 200 },
			],
		});
		for (const code of codes) {
			const { status, body } = await infoJson("faulty");
			expect(status).toBe(code);
			expect(body).toMatchObject({ code, data: null });
			expect(typeof body.message).toBe("string");
		}
		const limited = await info("faulty");
		expect(limited.status).toBe(429);
		expect(limited.headers.get("retry-after")).toBe("7");
		expect(await limited.json()).toMatchObject({ code: 429 });
		expect(await infoJson("faulty")).toMatchObject({ status: 200, body: { code: 404, data: null } });
		expect(await infoJson("faulty")).toMatchObject({ status: 500, body: { code: 200, data: null } });
		expect(await infoJson("faulty")).toMatchObject({
			status: 200,
			body: { code: 200, data: { Status: "Active" } },
		});
		expect(sim.stats().calls.byAsset.faulty).toBe(codes.length + 4);
	});

	it("answers malformed bodies: HTML, truncated JSON, another shape, an unknown Status", async () => {
		sim.script("garbled", {
			processingMs: 0,
			faults: [
				{ kind: "html" },
				{ kind: "html", httpStatus: 200 },
				{ kind: "truncated" },
				{ kind: "wrong_shape" },
				{ kind: "unknown_status", status: "Weird" },
			],
		});
		const html = await info("garbled");
		expect(html.status).toBe(502);
		expect(html.headers.get("content-type")).toContain("text/html");
		expect(await html.text()).toContain("<html>");
		const html200 = await info("garbled");
		expect(html200.status).toBe(200);
		expect(await html200.text()).toContain("<html>");
		const truncated = await info("garbled");
		expect(truncated.status).toBe(200);
		const text = await truncated.text();
		expect(text.startsWith('{"code":200')).toBe(true);
		expect(() => JSON.parse(text)).toThrow();
		const shape = await infoJson("garbled");
		expect(shape.status).toBe(200);
		expect(shape.body).not.toHaveProperty("data");
		expect((await infoJson("garbled")).body.data?.Status).toBe("Weird");
		expect((await infoJson("garbled")).body.data?.Status).toBe("Active");
	});

	it("answers slowly, hangs until the client gives up, or resets the connection", async () => {
		sim.script("flaky-net", {
			processingMs: 0,
			faults: [{ kind: "slow", ms: 120 }, { kind: "hang" }, { kind: "reset" }],
		});
		const t0 = Date.now();
		const slow = await infoJson("flaky-net");
		expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
		expect(slow.body.data?.Status).toBe("Active");

		await expect(info("flaky-net", { signal: AbortSignal.timeout(150) })).rejects.toThrow();
		const reset = await info("flaky-net").then(
			() => null,
			(err: Error & { cause?: { code?: string } }) => err,
		);
		expect(reset).toBeInstanceOf(TypeError);
		expect((await infoJson("flaky-net")).body.data?.Status).toBe("Active");
		expect(sim.asset("flaky-net")?.pendingFaults).toBe(0);
	});

	it("flips an asset on demand and records the flip time", async () => {
		sim.script("held", { processingMs: 60_000 });
		expect((await infoJson("held")).body.data?.Status).toBe("Processing");
		const before = Date.now();
		const flip = await control("POST", "/assets/held/flip", { status: "Active" });
		expect(flip.status).toBe(200);
		expect((await infoJson("held")).body.data?.Status).toBe("Active");
		sim.flip("held-2", "Failed");
		expect((await infoJson("held-2")).body.data?.Status).toBe("Failed");
		const stats = (await (await control("GET", "/stats")).json()) as CrunSimStats;
		expect(stats).toMatchObject({ calls: { total: 3, byAsset: { held: 2, "held-2": 1 } } });
		const heldAt = stats.flips.held ?? 0;
		expect(heldAt).toBeGreaterThanOrEqual(before);
		expect(stats.flips["held-2"]).toBeGreaterThanOrEqual(heldAt);
	});

	it("takes scripts over the control API and rejects bad ones", async () => {
		const put = await control("PUT", "/assets/ctl-1", {
			processingMs: 0,
			outcome: "Failed",
			faults: [{ status: 455 }],
		});
		expect(put.status).toBe(200);
		expect(await put.json()).toMatchObject({ id: "ctl-1", pendingFaults: 1, outcome: "Failed" });
		expect((await infoJson("ctl-1")).status).toBe(455);
		expect((await infoJson("ctl-1")).body.data?.Status).toBe("Failed");
		const bulk = await control("PUT", "/assets", {
			"bulk-a": { processingMs: 0 },
			"bulk-b": { processingMs: 0 },
		});
		expect(await bulk.json()).toEqual({ ok: true, count: 2 });
		expect((await infoJson("bulk-b")).body.data?.Status).toBe("Active");
		expect((await control("PUT", "/assets/ctl-2", { outcome: "Done" })).status).toBe(400);
		expect((await control("PUT", "/assets/ctl-2", { faults: [{ kind: "nope" }] })).status).toBe(400);
		expect((await control("PUT", "/assets/ctl-2", { procesingMs: 1 })).status).toBe(400);
		expect(() => sim.script("ctl-3", { faults: [{ kind: "slow" } as never] })).toThrow();
		expect((await control("POST", "/reset")).status).toBe(200);
		expect(sim.stats()).toEqual({
			calls: { total: 0, byAsset: {} },
			uploads: 0,
			flips: {},
			limited: 0,
			peakPerSecond: 0,
		});
	});

	it("uploads an asset that then follows the default script", async () => {
		const upload = (body: unknown, key = KEY) =>
			fetch(`${sim.url}/api/v1/client/job/asset-upload`, {
				method: "POST",
				headers: { "content-type": "application/json", "x-api-key": key },
				body: JSON.stringify(body),
			});
		const res = await upload({
			name: "clip.mp4",
			asset_type: "Video",
			asset_url: "https://cdn.example/clip.mp4",
		});
		expect(res.status).toBe(200);
		const created = (await res.json()) as { code: number; message: string; data: { AssetId: string } };
		expect(created).toMatchObject({ code: 200, message: "success" });
		expect(created.data.AssetId).toMatch(/^asset-[0-9a-f]+$/);
		const id = created.data.AssetId;
		expect((await infoJson(id)).body.data).toMatchObject({
			Name: "clip.mp4",
			AssetType: "Video",
			Status: "Processing",
		});
		await sleep(PROCESSING_MS + 30);
		expect((await infoJson(id)).body.data?.Status).toBe("Active");

		const bad = await upload({ name: "x", asset_type: "Text", asset_url: "https://cdn.example/x" });
		expect(bad.status).toBe(422);
		expect(await bad.json()).toMatchObject({ code: 422, data: null });
		expect((await upload({ name: "x", asset_type: "Image" })).status).toBe(422);
		expect((await upload({ name: "x", asset_type: "Image", asset_url: "https://a/x" }, "nope")).status).toBe(
			401,
		);
		expect(sim.stats().uploads).toBe(4);
	});
});

describe("crun simulator: processing-time distributions and the account rate limit", () => {
	let sim: CrunSim;
	let clock = 1_800_000_000_000;

	beforeAll(async () => {
		sim = await startCrunSim({ apiKey: KEY, defaultProcessingMs: PROCESSING_MS, now: () => clock });
	});
	afterAll(() => sim.close());
	beforeEach(() => sim.reset());

	const info = (id: string) =>
		fetch(`${sim.url}/api/v1/client/job/asset-info?asset_id=${encodeURIComponent(id)}`, {
			headers: { "x-api-key": KEY },
		});
	const control = (method: string, path: string, body?: unknown) =>
		fetch(`${sim.url}/_sim${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
	const data = async (id: string) => ((await (await info(id)).json()) as Envelope).data ?? {};
	const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
	const q = (xs: number[], p: number) => xs[Math.floor(p * (xs.length - 1))] as number;

	it("keeps today's fixed processing time when no distribution is set", async () => {
		expect(sim.config()).toMatchObject({ defaultProcessingMs: PROCESSING_MS, distributions: {} });
		expect(sim.config().rateLimit.perSecond).toBe(0);
		expect(sim.script("plain", { assetType: "Video" }).processingMs).toBe(PROCESSING_MS);
	});

	it("draws the processing time of a new asset from its type's distribution, as the schedule simulator does", async () => {
		// The same specs the schedule simulator runs, given to the HTTP simulator over its control API.
		const byType = { Image: "quick", Video: "slow", Audio: "bimodal" } as const;
		const specs = Object.fromEntries(
			Object.entries(byType).map(([type, name]) => [type, SCENARIOS.find((s) => s.name === name)?.spec]),
		) as Record<keyof typeof byType, DistributionSpec>;
		const put = await control("PUT", "/distributions", specs);
		expect(put.status).toBe(200);
		expect(((await put.json()) as CrunSimConfig).distributions).toEqual(specs);
		// 10,000 draws a side (both seeded): sampling noise in p10/p50/p90 is then about 1 %.
		for (const [type, spec] of Object.entries(specs)) {
			const fromSim = sorted(
				Array.from(
					{ length: 10_000 },
					(_, i) => sim.script(`${type}-${i}`, { assetType: type as "Image" }).processingMs,
				),
			);
			const rand = prng(5);
			const own = sorted(Array.from({ length: 10_000 }, () => fromSpec(spec)(rand, 0)));
			for (const p of [0.1, 0.5, 0.9])
				expect(q(fromSim, p) / q(own, p), `${type} p${p * 100}`).toBeCloseTo(1, 1);
		}
		// An asset first seen over HTTP gets its (hashed) type's distribution too.
		await info("http-asset");
		const seen = sim.asset("http-asset");
		expect(seen?.processingMs).not.toBe(PROCESSING_MS);
	});

	it("draws from the seed and the asset id alone, so a run can be repeated", async () => {
		const other = await startCrunSim({ apiKey: KEY, distributions: "realistic", seed: 1 });
		const third = await startCrunSim({ apiKey: KEY, distributions: "realistic", seed: 2 });
		try {
			sim.setDistributions("realistic");
			const ids = ["v-1", "v-2", "v-3"];
			const a = ids.map((id) => sim.script(id, { assetType: "Video" }).processingMs);
			// Created in another order, on another simulator with the same seed: the same times.
			const b = [...ids].reverse().map((id) => other.script(id, { assetType: "Video" }).processingMs);
			expect(b.reverse()).toEqual(a);
			expect(ids.map((id) => third.script(id, { assetType: "Video" }).processingMs)).not.toEqual(a);
		} finally {
			await Promise.all([other.close(), third.close()]);
		}
	});

	it("keeps an asset Processing for its drawn time from the first query; UpdateTime − CreateTime is that time", async () => {
		sim.setDistributions({ Image: { kind: "lognormal", medianMs: 30_000, sigma: 0.5 } });
		sim.script("img-1", { assetType: "Image", timeFormat: "iso" });
		const drawn = sim.asset("img-1")?.processingMs as number;
		expect((await data("img-1")).Status).toBe("Processing");
		clock += drawn - 1;
		expect((await data("img-1")).Status).toBe("Processing");
		clock += 1;
		const done = await data("img-1");
		expect(done.Status).toBe("Active");
		expect(Date.parse(done.UpdateTime as string) - Date.parse(done.CreateTime as string)).toBe(drawn);
	});

	it("shifts a type to another distribution after a number of its assets", async () => {
		sim.setDistributions({
			Audio: {
				kind: "shift",
				before: { kind: "fixed", ms: 1000 },
				after: { kind: "fixed", ms: 9000 },
				afterAssets: 3,
			},
		});
		const times = Array.from(
			{ length: 5 },
			(_, i) => sim.script(`a-${i}`, { assetType: "Audio" }).processingMs,
		);
		expect(times).toEqual([1000, 1000, 1000, 9000, 9000]);
	});

	it("refuses distributions it cannot draw from, and changes nothing then", async () => {
		sim.setDistributions({ Video: { kind: "fixed", ms: 5 } });
		for (const bad of [
			{ Video: { kind: "normal", meanMs: 5 } },
			{ Video: { kind: "lognormal", medianMs: -1, sigma: 0.5 } },
			{ Video: { kind: "lognormal", medianMs: 1, sigma: 0.5, extra: 1 } },
			{ Video: { kind: "mixture", parts: [] } },
			{ Video: { kind: "shift", before: { kind: "fixed", ms: 1 }, after: { kind: "fixed", ms: 2 } } },
			{ Text: { kind: "fixed", ms: 1 } },
			[1, 2],
		]) {
			const res = await control("PUT", "/distributions", bad);
			expect(res.status, JSON.stringify(bad)).toBe(400);
			expect(await res.json()).toEqual({ error: expect.any(String) });
		}
		expect(sim.config().distributions).toEqual({ Video: { kind: "fixed", ms: 5 } });
		// null takes a type back to the default.
		await control("PUT", "/distributions", { Video: null });
		expect(sim.config().distributions).toEqual({});
		expect(
			((await (await control("PUT", "/distributions", "realistic")).json()) as CrunSimConfig).distributions,
		).toEqual(REALISTIC);
	});

	it("answers 429 with Retry-After above N calls in any 1 s window, refused calls touching nothing", async () => {
		sim.setRateLimit(3);
		sim.script("faulted", { faults: [{ status: 500 }] });
		const statuses = [];
		for (let i = 0; i < 3; i++) statuses.push((await info(`rl-${i}`)).status);
		expect(statuses).toEqual([200, 200, 200]);
		const refused = await info("faulted");
		expect(refused.status).toBe(429);
		expect(refused.headers.get("retry-after")).toBe("1");
		expect(await refused.json()).toEqual({ code: 429, message: "Rate Limited", data: null });
		// The refused call neither started the asset's clock nor used up its fault.
		expect(sim.asset("faulted")).toMatchObject({ firstQueryAt: null, pendingFaults: 1 });
		clock += 999;
		expect((await info("rl-0")).status).toBe(429);
		clock += 1;
		expect((await info("faulted")).status).toBe(500);
		expect(sim.stats()).toMatchObject({ limited: 2, peakPerSecond: 5 });
		expect(sim.stats().calls.total).toBe(6);
	});

	it("is tightened, loosened and turned off at run time through the control API", async () => {
		const tight = await control("PUT", "/rate-limit", { perSecond: 1, retryAfter: false });
		expect(tight.status).toBe(200);
		expect(((await tight.json()) as CrunSimConfig).rateLimit).toEqual({ perSecond: 1, retryAfter: false });
		expect((await info("t-1")).status).toBe(200);
		const refused = await info("t-1");
		expect(refused.status).toBe(429);
		expect(refused.headers.get("retry-after")).toBeNull();
		// Uploads are account calls too.
		const upload = await fetch(`${sim.url}/api/v1/client/job/asset-upload`, {
			method: "POST",
			headers: { "x-api-key": KEY },
			body: JSON.stringify({ name: "x.png", asset_type: "Image", asset_url: "https://cdn.example/x.png" }),
		});
		expect(upload.status).toBe(429);
		await control("PUT", "/rate-limit", { perSecond: 0 });
		for (let i = 0; i < 10; i++) expect((await info("t-1")).status).toBe(200);
		for (const bad of [
			{ perSecond: -1 },
			{ perSecond: 1.5 },
			{ perSecond: 2, retryAfter: "yes" },
			{ rps: 3 },
		]) {
			expect((await control("PUT", "/rate-limit", bad)).status, JSON.stringify(bad)).toBe(400);
		}
		expect(sim.config().rateLimit).toEqual({ perSecond: 0, retryAfter: true });
	});

	it("goes back to its starting distributions and limit on reset, and reads them from the environment", async () => {
		const started = await startCrunSim({
			apiKey: KEY,
			...simOptionsFromEnv({
				CRUN_SIM_RATE_LIMIT: "30",
				CRUN_SIM_DISTRIBUTIONS: "realistic",
				CRUN_SIM_SEED: "4",
			}),
		});
		try {
			expect(started.config()).toMatchObject({
				seed: 4,
				rateLimit: { perSecond: 30 },
				distributions: REALISTIC,
			});
			started.setRateLimit(2);
			started.setDistributions({ Image: null });
			started.reset();
			expect(started.config()).toMatchObject({ rateLimit: { perSecond: 30 }, distributions: REALISTIC });
		} finally {
			await started.close();
		}
		expect(
			simOptionsFromEnv({ CRUN_SIM_DISTRIBUTIONS: '{"Video":{"kind":"fixed","ms":5}}' }).distributions,
		).toEqual({ Video: { kind: "fixed", ms: 5 } });
		expect(simOptionsFromEnv({})).toEqual({});
	});
});

describe("callback receiver", () => {
	let rx: Receiver;

	beforeAll(async () => {
		rx = await startReceiver({ secret: `${OLD_SECRET} ${SECRET}` });
	});
	afterAll(() => rx.close());
	beforeEach(() => rx.reset());

	const signed = (path: string, id: string, body: string, secret = SECRET) =>
		fetch(`${rx.url}${path}`, {
			method: "POST",
			headers: {
				"content-type": "application/json",
				"webhook-id": id,
				"webhook-timestamp": String(Math.floor(Date.now() / 1000)),
				"webhook-signature": new Webhook(secret).sign(id, new Date(), body),
			},
			body,
		});

	it("verifies a Standard Webhooks signature with any of its secrets and records the delivery", async () => {
		const body = JSON.stringify({ type: "asset.active", data: { asset_id: "a-1" } });
		const res = await signed("/hook", "msg_1", body);
		expect(res.status).toBe(200);
		const d = await rx.waitFor((x) => x.webhookId === "msg_1", 1000);
		expect(d).toMatchObject({ path: "/hook", method: "POST", body, verified: true, attempt: 1, status: 200 });
		expect(d.json).toEqual(JSON.parse(body));
		expect(d.headers["content-type"]).toBe("application/json");
		expect(typeof d.at).toBe("number");

		await signed("/hook", "msg_2", body, OLD_SECRET);
		expect((await rx.waitFor((x) => x.webhookId === "msg_2", 1000)).verified).toBe(true);
		await signed("/hook", "msg_1", body);
		expect(
			rx
				.deliveries()
				.filter((x) => x.webhookId === "msg_1")
				.map((x) => x.attempt),
		).toEqual([1, 2]);
	});

	it("records a bad signature as verified: false with the reason", async () => {
		const body = JSON.stringify({ type: "asset.failed" });
		await signed("/hook", "msg_bad", body, "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==");
		const d = await rx.waitFor((x) => x.webhookId === "msg_bad", 1000);
		expect(d.verified).toBe(false);
		expect(d.error).toMatch(/signature/i);
		const tampered = await fetch(`${rx.url}/hook`, { method: "POST", body: "not json" });
		expect(tampered.status).toBe(200);
		const unsigned = await rx.waitFor((x) => x.body === "not json", 1000);
		expect(unsigned).toMatchObject({ verified: false, json: null, webhookId: null });
	});

	it("answers a scripted sequence, redirects, Retry-After and 410 per path", async () => {
		rx.setBehaviour("/seq", { sequence: [500, 500], after: 200 });
		const statuses = [];
		for (let i = 0; i < 4; i++) statuses.push((await signed("/seq", "msg_seq", "{}")).status);
		expect(statuses).toEqual([500, 500, 200, 200]);

		rx.setBehaviour("/redirect", { status: 302, location: "https://elsewhere.example/hook" });
		const moved = await fetch(`${rx.url}/redirect`, { method: "POST", body: "{}", redirect: "manual" });
		expect(moved.status).toBe(302);
		expect(moved.headers.get("location")).toBe("https://elsewhere.example/hook");

		rx.setBehaviour("/busy", { status: 429, retryAfter: "120" });
		const busy = await fetch(`${rx.url}/busy`, { method: "POST", body: "{}" });
		expect(busy.status).toBe(429);
		expect(busy.headers.get("retry-after")).toBe("120");

		rx.setBehaviour("*", 410);
		expect((await fetch(`${rx.url}/anything`, { method: "POST", body: "{}" })).status).toBe(410);
		expect(rx.deliveries().map((d) => d.status)).toEqual([500, 500, 200, 200, 302, 429, 410]);
	});

	it("delays or hangs long enough for a client timeout, and still records the delivery", async () => {
		rx.setBehaviour("/slow", { delayMs: 400 });
		await expect(
			fetch(`${rx.url}/slow`, { method: "POST", body: "{}", signal: AbortSignal.timeout(100) }),
		).rejects.toThrow();
		rx.setBehaviour("/hang", { hang: true });
		await expect(
			fetch(`${rx.url}/hang`, { method: "POST", body: "{}", signal: AbortSignal.timeout(100) }),
		).rejects.toThrow();
		expect(rx.deliveries().map((d) => d.path)).toEqual(["/slow", "/hang"]);
	});

	it("goes down (connection refused) and comes back up on the same port", async () => {
		const port = rx.port;
		await rx.down();
		const refused = await fetch(`${rx.url}/hook`, { method: "POST", body: "{}" }).then(
			() => null,
			(err: Error & { cause?: { code?: string } }) => err,
		);
		expect(refused?.cause?.code).toBe("ECONNREFUSED");
		await rx.up();
		expect(rx.port).toBe(port);
		expect((await fetch(`${rx.url}/hook`, { method: "POST", body: "{}" })).status).toBe(200);
	});

	it("is scriptable and readable over its control API", async () => {
		const put = await fetch(`${rx.url}/_receiver/behaviour`, {
			method: "PUT",
			body: JSON.stringify({ path: "/ctl", behaviour: { status: 503 } }),
		});
		expect(put.status).toBe(200);
		expect((await signed("/ctl", "msg_ctl", "{}")).status).toBe(503);
		const list = (await (await fetch(`${rx.url}/_receiver/deliveries?webhook_id=msg_ctl`)).json()) as {
			deliveries: { path: string; verified: boolean; status: number }[];
		};
		expect(list.deliveries).toEqual([expect.objectContaining({ path: "/ctl", verified: true, status: 503 })]);
		const badPut = await fetch(`${rx.url}/_receiver/behaviour`, {
			method: "PUT",
			body: JSON.stringify({ path: "/ctl", behaviour: { status: 99 } }),
		});
		expect(badPut.status).toBe(400);
		await expect(rx.waitFor((x) => x.path === "/never", 50)).rejects.toThrow(/no matching delivery/);
	});
});
