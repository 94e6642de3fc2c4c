// A secret that is missing and one that is set but invalid read the same on the routes as on
// /healthz: 503 not_configured whose message and details say which (by name, with the rule it
// breaks), never the value.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { json, TOKEN_A, useFakeWorld } from "../support/fakes";

useFakeWorld();

type NotConfigured = {
	error: {
		code: string;
		message: string;
		details: { missing: string[]; invalid: { name: string; problem: string }[] };
	};
};
type Health = { ok: boolean; missing_config: string[]; invalid_config: { name: string; problem: string }[] };

// Looks like a secret, is not one: the value must never come back.
const BAD_SECRET = "whsec_this-is-not-base64!";

async function register(e: Record<string, unknown>): Promise<Response> {
	return app.request(
		"/v1/watches",
		{
			method: "POST",
			headers: { authorization: `Bearer ${TOKEN_A}`, "content-type": "application/json" },
			body: JSON.stringify({ asset_id: "nc-asset", callback_url: "https://receiver.example/nc" }),
		},
		{ ...env, ...e } as unknown as Env,
	);
}

async function health(e: Record<string, unknown>): Promise<Health> {
	const res = await app.request("/healthz", {}, { ...env, ...e } as unknown as Env);
	expect(res.status).toBe(503);
	return json<Health>(res);
}

describe("WEBHOOK_SECRET", () => {
	it("invalid: the route says invalid, with the rule /healthz gives, and not missing", async () => {
		const res = await register({ WEBHOOK_SECRET: BAD_SECRET });
		expect(res.status).toBe(503);
		const text = await res.clone().text();
		const body = await json<NotConfigured>(res);
		const h = await health({ WEBHOOK_SECRET: BAD_SECRET });

		expect(body.error.code).toBe("not_configured");
		expect(body.error.details).toEqual({ missing: [], invalid: h.invalid_config });
		expect(h.invalid_config).toEqual([
			{ name: "WEBHOOK_SECRET", problem: "each secret must be whsec_ followed by base64" },
		]);
		expect(body.error.message).toBe(
			"the service is not configured: WEBHOOK_SECRET is invalid (each secret must be whsec_ followed by base64)",
		);
		expect(body.error.message).not.toMatch(/missing/);
		expect(text).not.toContain(BAD_SECRET);
		expect(text).not.toContain("this-is-not-base64");
	});

	it("missing: the route says missing, as /healthz does", async () => {
		const res = await register({ WEBHOOK_SECRET: "" });
		const body = await json<NotConfigured>(res);
		expect(res.status).toBe(503);
		expect(body.error.details).toEqual({ missing: ["WEBHOOK_SECRET"], invalid: [] });
		expect(body.error.message).toBe("the service is not configured: missing WEBHOOK_SECRET");
		expect((await health({ WEBHOOK_SECRET: "" })).missing_config).toEqual(["WEBHOOK_SECRET"]);
	});

	it("one missing and one invalid: both named, each as what it is", async () => {
		const res = await register({ WEBHOOK_SECRET: BAD_SECRET, CRUN_API_KEY: "" });
		const body = await json<NotConfigured>(res);
		expect(body.error.details.missing).toEqual(["CRUN_API_KEY"]);
		expect(body.error.details.invalid.map((i) => i.name)).toEqual(["WEBHOOK_SECRET"]);
		expect(body.error.message).toBe(
			"the service is not configured: missing CRUN_API_KEY; WEBHOOK_SECRET is invalid (each secret must be whsec_ followed by base64)",
		);
	});
});
