// What the request path keeps per isolate so that a repeated request costs less, and that each
// keeps its guarantee: an accepted Authorization header is remembered per configuration (a token
// removed from API_TOKENS is refused at once, an unknown one is never kept, and the memory is
// bounded), and a status answer served again from memory, or a registration's answer, still never
// carries a secret out.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { ACCEPTED_HEADERS_KEPT, acceptedHeaderCount } from "../../src/http/auth";
import { REDACTED } from "../../src/http/secret-egress";
import { call, json, TOKEN_A, TOKEN_B, useFakeWorld } from "../support/fakes";
import { TEST_SECRETS } from "../support/secrets";
import { runDue } from "../support/steps";

const world = useFakeWorld();

let n = 0;
const unique = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

const lookup = (assetId: string, authorization: string, e: Env = env) =>
	app.request(`/v1/assets/${assetId}`, { headers: { authorization } }, e);

describe("accepted Authorization headers, kept per configuration", () => {
	it("a header accepted a moment ago is refused once its token leaves API_TOKENS", async () => {
		const assetId = unique("kept-revoked");
		world.fakes.script(assetId, { status: "Processing" });
		const withA = { ...env, API_TOKENS: `${TOKEN_A},${TOKEN_B}` };
		expect((await lookup(assetId, `Bearer ${TOKEN_A}`, withA)).status).toBe(200);
		expect((await lookup(assetId, `Bearer ${TOKEN_A}`, withA)).status).toBe(200);
		expect(acceptedHeaderCount(withA)).toBe(1);

		const withoutA = { ...env, API_TOKENS: TOKEN_B };
		const refused = await lookup(assetId, `Bearer ${TOKEN_A}`, withoutA);
		expect(refused.status).toBe(401);
		expect((await json<{ error: { code: string } }>(refused)).error.code).toBe("unauthorized");
		expect((await lookup(assetId, `Bearer ${TOKEN_B}`, withoutA)).status).toBe(200);
	});

	it("an unknown or near-miss token is never kept, and is refused every time", async () => {
		const e = { ...env, API_TOKENS: TOKEN_A };
		for (const token of ["nope-not-a-token", TOKEN_A.slice(0, -1), `${TOKEN_A}x`, TOKEN_B])
			for (let i = 0; i < 3; i++)
				expect((await lookup("kept-unknown", `Bearer ${token}`, e)).status).toBe(401);
		expect(acceptedHeaderCount(e)).toBe(0);
	});

	it("keeps at most ACCEPTED_HEADERS_KEPT headers; one pushed out is checked in full again", async () => {
		const assetId = unique("kept-bounded");
		world.fakes.script(assetId, { status: "Processing" });
		const e = { ...env, API_TOKENS: TOKEN_A };
		// RFC 6750 allows any run of spaces after the scheme: each spelling is its own header value.
		const spellings = Array.from(
			{ length: ACCEPTED_HEADERS_KEPT + 20 },
			(_, i) => `Bearer ${" ".repeat(i)}${TOKEN_A}`,
		);
		for (const header of spellings) expect((await lookup(assetId, header, e)).status).toBe(200);
		expect(acceptedHeaderCount(e)).toBe(ACCEPTED_HEADERS_KEPT);
		// The first spellings were pushed out: they are accepted again by the full check.
		expect((await lookup(assetId, spellings[0] as string, e)).status).toBe(200);
		expect(acceptedHeaderCount(e)).toBe(ACCEPTED_HEADERS_KEPT);
	});

	it("a kept header authenticates as the same owner: it sees its own watches and no one else's", async () => {
		const assetId = unique("kept-owner");
		world.fakes.script(assetId, { status: "Processing" });
		const reg = await call("POST", "/v1/watches", {
			body: { asset_id: assetId, callback_url: "https://receiver.example/kept-owner" },
		});
		expect(reg.status).toBe(201);
		const { id } = await json<{ id: string }>(reg);
		for (let i = 0; i < 2; i++) {
			expect((await call("GET", `/v1/watches/${id}`)).status).toBe(200);
			expect((await call("GET", `/v1/watches/${id}`, { token: TOKEN_B })).status).toBe(404);
		}
	});
});

describe("answers built from checked text still withhold secrets", () => {
	it("a kept answer that holds a secret is redacted on every serve, from memory too", async () => {
		// The upstream's own text is cleaned where it is read; an asset id is the caller's, and
		// may be anything the id pattern allows, a secret's value included.
		const assetId = `${TEST_SECRETS.CRUN_API_KEY}.${++n}`;
		world.fakes.script(assetId, { status: "Active" });
		const reg = await call("POST", "/v1/watches", {
			body: { asset_id: assetId, callback_url: "https://receiver.example/kept-secret" },
		});
		expect(reg.status).toBe(201);
		// The first check runs on the alarm, due now.
		expect(await runDue(world.vclock, assetId)).toBe(true);
		const bodies: string[] = [];
		for (let i = 0; i < 3; i++) {
			const res = await call("GET", `/v1/assets/${assetId}`);
			expect(res.status).toBe(200);
			bodies.push(await res.text());
		}
		expect(JSON.parse(bodies[0] as string)).toMatchObject({ status: "Active", asset_id: `${REDACTED}.${n}` });
		for (const body of bodies) expect(body).not.toContain(TEST_SECRETS.CRUN_API_KEY);
	});

	it("a registration's answer that would echo a secret is redacted", async () => {
		const res = await call("POST", "/v1/watches", {
			body: {
				asset_id: unique("reg-secret"),
				callback_url: "https://receiver.example/reg-secret",
				metadata: { pasted: TEST_SECRETS.WEBHOOK_SECRET },
			},
		});
		expect(res.status).toBe(201);
		const text = await res.text();
		expect(text).not.toContain(TEST_SECRETS.WEBHOOK_SECRET);
		expect(text).toContain(REDACTED);
	});

	it("an ordinary kept answer is served unchanged, byte for byte, with its ETag", async () => {
		const assetId = unique("kept-plain");
		world.fakes.script(assetId, { status: "Processing" });
		await call("POST", "/v1/watches", {
			body: { asset_id: assetId, callback_url: "https://receiver.example/kept-plain" },
		});
		const first = await call("GET", `/v1/assets/${assetId}`);
		const second = await call("GET", `/v1/assets/${assetId}`);
		expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
		const [a, b] = [await first.text(), await second.text()];
		expect(b).toBe(a);
		expect(a).not.toContain(REDACTED);
		expect(JSON.parse(a)).toMatchObject({ asset_id: assetId, watched: true });
	});
});
