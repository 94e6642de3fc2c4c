// POST /v1/assets/upload through the worker, with Crun's upload endpoint faked: what is forwarded
// (exactly name, asset_type and asset_url, with the key), the watch registered in the same call,
// validation before anything is uploaded, and every upstream failure mapped to a clear answer
// that keeps the upstream's message and never the key.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { classifyUpload } from "../../src/crun/upload-answer";
import { call, Fakes, json, TOKEN_A, unique, VirtualClock } from "../support/fakes";
import { TEST_SECRETS } from "../support/secrets";
import { stepUntil } from "../support/steps";
import { UploadFake } from "../support/upload-fake";

let fakes: Fakes;
let upload: UploadFake;
// One clock for the whole file that only moves forward: the per-token request meter runs on it too.
const vclock = new VirtualClock();
beforeEach(() => {
	fakes = new Fakes().install();
	upload = new UploadFake().install();
	vclock.install();
});
afterEach(() => {
	fakes.uninstall();
	vclock.uninstall();
});

const file = { name: "intro.mp4", asset_type: "Video", asset_url: "https://cdn.example.com/media/intro.mp4" };
const post = (body: unknown) => call("POST", "/v1/assets/upload", { body });

type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Watch = {
	id: string;
	asset_id: string;
	state: string;
	callback_url: string;
	metadata: Record<string, unknown>;
	events: string[];
};

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
	const text = await res.text();
	expect(res.status, text).toBe(status);
	expect(text).not.toContain(TEST_SECRETS.CRUN_API_KEY);
	const body = JSON.parse(text) as ErrorBody;
	expect(body.error.code).toBe(code);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	return body;
}

describe("uploading", () => {
	it("forwards exactly name, asset_type and asset_url with the key; without callback_url, watch is null", async () => {
		const id = unique("asset-up");
		upload.script({ assetId: id });
		const res = await post(file);
		expect(res.status).toBe(201);
		expect(await json(res)).toEqual({ asset_id: id, watch: null });
		expect(upload.uploads).toEqual([
			{ apiKey: TEST_SECRETS.CRUN_API_KEY, contentType: "application/json", body: file },
		]);
		// Nothing is watched: no upstream status check was made.
		expect(fakes.callsFor(id)).toBe(0);
	});

	it("with callback_url, watches the new asset in the same call and delivers its callback", async () => {
		const id = unique("asset-up");
		const url = `https://receiver.example/${id}`;
		upload.script({ assetId: id });
		fakes.script(id, { status: "Processing" }, { status: "Active" });
		const res = await post({
			...file,
			callback_url: url,
			events: ["asset.active"],
			metadata: { job: "j-42" },
			callback_headers: { authorization: "Bearer receiver-secret" },
		});
		expect(res.status).toBe(201);
		const body = await json<{ asset_id: string; watch: Watch }>(res);
		expect(body.asset_id).toBe(id);
		expect(body.watch).toMatchObject({
			asset_id: id,
			callback_url: url,
			state: "watching",
			events: ["asset.active"],
			metadata: { job: "j-42" },
			callback_header_names: ["authorization"],
		});
		expect(JSON.stringify(body)).not.toContain("receiver-secret");
		// Only the upload fields went upstream.
		expect(upload.uploads[0]?.body).toEqual(file);

		await stepUntil(vclock, id, () => fakes.deliveriesTo(url).length > 0);
		const [d] = fakes.deliveriesTo(url);
		expect(d?.json).toMatchObject({
			type: "asset.active",
			data: { asset_id: id, watch_id: body.watch.id, metadata: { job: "j-42" } },
		});
		expect(d?.headers.authorization).toBe("Bearer receiver-secret");
		const watch = await json<Watch>(await call("GET", `/v1/watches/${body.watch.id}`));
		expect(watch.state).toBe("delivered");
	});

	it("each call is a new upload (the upstream call is not idempotent, so nothing is deduplicated)", async () => {
		const a = await json<{ asset_id: string }>(await post(file));
		const b = await json<{ asset_id: string }>(await post(file));
		expect(a.asset_id).not.toBe(b.asset_id);
		expect(upload.uploads).toHaveLength(2);
	});
});

describe("validation happens before anything is uploaded", () => {
	it.each([
		["an unknown field", { ...file, colour: "red" }, /colour/],
		["a missing name", { asset_type: "Video", asset_url: file.asset_url }, /name/],
		["an empty name", { ...file, name: "" }, /name/],
		["an unknown asset_type", { ...file, asset_type: "Text" }, /asset_type/],
		["a non-http asset_url", { ...file, asset_url: "ftp://cdn.example.com/x.mp4" }, /asset_url/],
		["a bad events list", { ...file, callback_url: "https://r.example/h", events: ["asset.done"] }, /events/],
		[
			"a reserved callback header",
			{ ...file, callback_url: "https://r.example/h", callback_headers: { "webhook-id": "x" } },
			/callback_headers/,
		],
	])("%s → 400", async (_name, body, message) => {
		const err = await expectError(await post(body), 400, "invalid_request");
		expect(JSON.stringify(err)).toMatch(message);
		expect(upload.uploads).toHaveLength(0);
	});

	it("a callback_url the policy refuses → 400, and no asset is created upstream", async () => {
		for (const callback_url of ["http://receiver.example/h", "https://localhost/h", "https://10.0.0.1/h"]) {
			const err = await expectError(await post({ ...file, callback_url }), 400, "invalid_request");
			expect(err.error.details).toMatchObject({ issues: [{ path: "callback_url" }] });
		}
		const dup = await post({
			...file,
			callback_url: "https://r.example/h",
			callback_headers: { "X-Key": "a", "x-key": "b" },
		});
		await expectError(dup, 400, "invalid_request");
		expect(upload.uploads).toHaveLength(0);
	});

	it("non-JSON is 415 and a missing token 401", async () => {
		const res = await call("POST", "/v1/assets/upload", {
			body: "name=x",
			headers: { "content-type": "text/plain" },
		});
		await expectError(res, 415, "unsupported_media_type");
		await expectError(
			await call("POST", "/v1/assets/upload", { body: file, token: null }),
			401,
			"unauthorized",
		);
		expect(upload.uploads).toHaveLength(0);
	});

	it("a missing secret is 503 not_configured, naming it", async () => {
		const req = (body: unknown) =>
			new Request("https://watcher.test/v1/assets/upload", {
				method: "POST",
				headers: { authorization: `Bearer ${TOKEN_A}`, "content-type": "application/json" },
				body: JSON.stringify(body),
			});
		const noKey = await app.fetch(req(file), { ...env, CRUN_API_KEY: "" });
		expect((await expectError(noKey, 503, "not_configured")).error.message).toContain("CRUN_API_KEY");
		// The webhook secret is needed only to watch.
		const noSecret = { ...env, WEBHOOK_SECRET: "" };
		expect((await app.fetch(req(file), noSecret)).status).toBe(201);
		const watched = await app.fetch(req({ ...file, callback_url: "https://r.example/h" }), noSecret);
		expect((await expectError(watched, 503, "not_configured")).error.message).toContain("WEBHOOK_SECRET");
		expect(upload.uploads).toHaveLength(1);
	});
});

describe("upstream failures keep the upstream's message", () => {
	const envelope = (code: number, message: string) => JSON.stringify({ code, message, data: null });

	it("422 (as HTTP status or as body code under 200) → 400 upstream_rejected", async () => {
		upload.script({ http: 422, body: envelope(422, "asset_url is not reachable") });
		const a = await expectError(await post(file), 400, "upstream_rejected");
		expect(a.error.message).toContain("asset_url is not reachable");
		upload.script({ http: 200, body: envelope(422, "name too long") });
		const b = await expectError(await post(file), 400, "upstream_rejected");
		expect(b.error.message).toContain("name too long");
	});

	it("401 and 402 → 502: an operator problem, and the key never appears", async () => {
		upload.script({
			http: 401,
			body: envelope(401, `Unauthorized key ${TEST_SECRETS.CRUN_API_KEY.slice(0, 4)}`),
		});
		const a = await expectError(await post(file), 502, "upstream_unauthorized");
		expect(a.error.message).toMatch(/CRUN_API_KEY/);
		upload.script({ http: 200, body: envelope(402, "Insufficient Credits") });
		const b = await expectError(await post(file), 502, "upstream_payment_required");
		expect(b.error.message).toContain("Insufficient Credits");
	});

	it("429 → 429 upstream_rate_limited with the upstream's Retry-After, or a default", async () => {
		upload.script({ http: 429, body: envelope(429, "Rate Limited"), headers: { "retry-after": "7" } });
		const a = await post(file);
		expect(a.headers.get("retry-after")).toBe("7");
		expect((await expectError(a, 429, "upstream_rate_limited")).error.message).toContain("Rate Limited");
		upload.script({ http: 429, body: "" });
		const b = await post(file);
		expect(Number(b.headers.get("retry-after"))).toBeGreaterThan(0);
		await expectError(b, 429, "upstream_rate_limited");
	});

	it("455 → 503 upstream_maintenance with Retry-After", async () => {
		upload.script({ http: 455, body: envelope(455, "Service Unavailable") });
		const res = await post(file);
		expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(300);
		expect((await expectError(res, 503, "upstream_maintenance")).error.message).toContain(
			"Service Unavailable",
		);
	});

	it.each([
		["500", { http: 500, body: envelope(500, "Server Error") }, /Server Error/],
		[
			"an HTML error page",
			{ http: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" },
			/502 Bad Gateway/,
		],
		["a truncated body", { http: 200, body: '{"code":200,"message":"success","da' }, /unreadable/],
		["JSON of another shape", { http: 200, body: '{"ok":true}' }, /AssetId/],
		[
			"no AssetId",
			{ http: 200, body: JSON.stringify({ code: 200, message: "success", data: {} }) },
			/AssetId/,
		],
		["a network error", { throws: "connection reset" }, /unreachable/],
		["no answer before the timeout", { hang: true } as const, /timed out/],
	])("%s → 502 upstream_error", async (_name, answer, message) => {
		upload.script(answer);
		const err = await expectError(await post(file), 502, "upstream_error");
		expect(err.error.message).toMatch(message);
	});

	it("an asset id this service cannot watch → 502, naming the id so the upload is not lost", async () => {
		upload.script({ assetId: "has spaces/and slashes" });
		const err = await expectError(
			await post({ ...file, callback_url: "https://r.example/h" }),
			502,
			"upstream_error",
		);
		expect(err.error.details).toEqual({ asset_id: "has spaces/and slashes" });
	});
});

describe("classifyUpload", () => {
	const h = (init: Record<string, string> = {}) => new Headers(init);
	it("reads the asset id, and the body's code wins over a generic HTTP status", () => {
		expect(
			classifyUpload(200, h(), '{"code":200,"message":"success","data":{"AssetId":"asset-1"}}', 0),
		).toEqual({
			kind: "ok",
			assetId: "asset-1",
			message: "success",
		});
		expect(classifyUpload(500, h(), '{"code":422,"message":"bad url","data":null}', 0)).toEqual({
			kind: "rejected",
			message: "bad url",
		});
		expect(classifyUpload(429, h({ "retry-after": "12" }), "", 0)).toEqual({
			kind: "rate_limited",
			message: "upstream 429",
			retryAfterS: 12,
		});
		expect(classifyUpload(503, h(), "", 0)).toEqual({ kind: "failed", message: "upstream 503" });
		expect(classifyUpload(200, h(), "", 0)).toEqual({
			kind: "failed",
			message: "unreadable upstream answer: (empty)",
		});
	});
});
