// The callback URL policy as a client meets it through POST /v1/watches, under each value of
// ALLOW_PRIVATE_CALLBACKS: the default refuses this machine, `loopback` (npm start's demo) allows
// only this machine, and a refusal is a 400 naming callback_url that registers nothing.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { json, TOKEN_A, unique, useFakeWorld } from "../support/fakes";

useFakeWorld();

type ErrorBody = { error: { code: string; message: string; details?: { issues?: { path: string }[] } } };

function register(policy: string, callbackUrl: string, assetId = unique("policy")) {
	return app.request(
		"/v1/watches",
		{
			method: "POST",
			headers: { authorization: `Bearer ${TOKEN_A}`, "content-type": "application/json" },
			body: JSON.stringify({ asset_id: assetId, callback_url: callbackUrl }),
		},
		{ ...env, ALLOW_PRIVATE_CALLBACKS: policy } as unknown as Env,
	);
}

async function expectRefused(res: Response, why: RegExp): Promise<void> {
	expect(res.status).toBe(400);
	const body = await json<ErrorBody>(res);
	expect(body.error.code).toBe("invalid_request");
	expect(body.error.message).toMatch(why);
	expect(body.error.details?.issues?.map((i) => i.path)).toEqual(["callback_url"]);
}

describe("ALLOW_PRIVATE_CALLBACKS=loopback", () => {
	it.each(["http://127.0.0.1:8791/callbacks", "http://localhost:3000/hook", "http://[::1]:9000/cb"])(
		"registers a watch calling back %s",
		async (url) => {
			const res = await register("loopback", url);
			expect(res.status).toBe(201);
			expect((await json<{ callback_url: string }>(res)).callback_url).toBe(new URL(url).href);
		},
	);

	it.each([
		"https://example.com/hooks",
		"http://10.0.0.1/x",
		"http://evil.localhost/",
		"http://[::ffff:127.0.0.1]/",
	])("refuses %s: nothing off this machine", async (url) => {
		const assetId = unique("policy-off");
		await expectRefused(await register("loopback", url, assetId), /not on this machine/);
		const lookup = await app.request(
			`/v1/watches?asset_id=${assetId}`,
			{ headers: { authorization: `Bearer ${TOKEN_A}` } },
			env,
		);
		expect((await json<{ watches: unknown[] }>(lookup)).watches).toEqual([]);
	});
});

describe("the other values", () => {
	it("false (the default) refuses loopback and http", async () => {
		await expectRefused(await register("false", "http://127.0.0.1:8791/cb"), /must use https/);
		await expectRefused(await register("false", "https://127.0.0.1/cb"), /loopback/);
	});

	// (Outbound fetch is mocked in these tests: nothing is sent anywhere.)
	it("true allows http, any port and any host", async () => {
		expect((await register("true", "http://receiver.example:8080/x")).status).toBe(201);
		expect((await register("true", "http://printer.local/x")).status).toBe(201);
	});
});
