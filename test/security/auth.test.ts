// Who gets in, and what a token can see: every malformed, near-miss and removed credential is
// answered 401 with the envelope; a token reads and changes only its own watches (another
// token's watch answers exactly like one that does not exist); and the verifier compares the
// presented token against every configured one, whatever matches.
import { env } from "cloudflare:workers";
import { timingSafeEqual } from "hono/utils/buffer";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { hashToken } from "../../src/core/ids";
import { credentialOf, matchToken } from "../../src/http/auth";
import { call, json, TOKEN_A, TOKEN_B, useFakeWorld } from "../support/fakes";
import { runDue, stepUntil } from "../support/steps";

const world = useFakeWorld();

type ErrorBody = { error: { code: string; message: string; details?: unknown } };
type Watch = { id: string; asset_id: string; state: string; updated_at: string };

let n = 0;
const unique = (p: string) => `${p}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

async function expect401(res: Response): Promise<ErrorBody> {
	expect(res.status).toBe(401);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
	const body = await json<ErrorBody>(res);
	expect(body.error.code).toBe("unauthorized");
	expect(typeof body.error.message).toBe("string");
	expect(Object.keys(body)).toEqual(["error"]);
	return body;
}

/** Every authenticated route, as (method, path, body) — the watch id need not exist for a 401. */
const ROUTES: [string, string, unknown?][] = [
	["GET", "/v1/assets/auth-probe"],
	["GET", "/v1/assets/auth-probe?refresh=true"],
	["POST", "/v1/watches", { asset_id: "auth-probe", callback_url: "https://receiver.example/auth" }],
	[
		"POST",
		"/v1/watches/batch",
		{ watches: [{ asset_id: "auth-probe", callback_url: "https://receiver.example/a" }] },
	],
	["GET", "/v1/watches"],
	["GET", "/v1/watches/w_aaaaaaaaaaaaaaaaaaaa_YXV0aC1wcm9iZQ"],
	["DELETE", "/v1/watches/w_aaaaaaaaaaaaaaaaaaaa_YXV0aC1wcm9iZQ"],
	["POST", "/v1/watches/w_aaaaaaaaaaaaaaaaaaaa_YXV0aC1wcm9iZQ/redeliver"],
	["GET", "/v1/stats"],
	["POST", "/v1/watches/redeliver", { state: "failed" }],
	["GET", "/v1/receivers"],
	["POST", "/v1/assets/upload", { name: "n", asset_type: "Image", asset_url: "https://cdn.example/a.png" }],
	["GET", "/v1/nowhere"],
];

describe("credentials that are refused", () => {
	// Malformed headers carry the *valid* token, so only the framing is at fault.
	const malformed: [string, string][] = [
		["scheme alone", "Bearer"],
		["scheme and spaces", "Bearer    "],
		["another scheme", `Basic ${TOKEN_A}`],
		["Basic with junk", "Basic x"],
		["Basic credentials of the token", `Basic ${btoa(`${TOKEN_A}:`)}`],
		["Token scheme", `Token ${TOKEN_A}`],
		["no scheme", TOKEN_A],
		["no space", `Bearer${TOKEN_A}`],
		["colon after the scheme", `Bearer: ${TOKEN_A}`],
		["tab instead of space", `Bearer\t${TOKEN_A}`],
		["quoted token", `Bearer "${TOKEN_A}"`],
		["two tokens", `Bearer ${TOKEN_A} ${TOKEN_B}`],
		["trailing junk", `Bearer ${TOKEN_A} x`],
		["comma list", `Bearer ${TOKEN_A},Bearer ${TOKEN_B}`],
		["the API_TOKENS value itself", `Bearer ${TOKEN_A},${TOKEN_B}`],
		["non-ASCII inside", `Bearer ${TOKEN_A.slice(0, 4)}é${TOKEN_A.slice(5)}`],
		["non-ASCII appended", `Bearer ${TOKEN_A}ü`],
		["lowercase scheme, unknown token, two spaces", "bearer  tok"],
		["uppercase scheme, unknown token", "BEARER tok"],
		["very long", `Bearer ${"a".repeat(100_000)}`],
		["very long after the token", `Bearer ${TOKEN_A}${"=".repeat(50_000)}x`],
	];

	it.each(malformed)("%s → 401", async (_label, header) => {
		await expect401(
			await call("GET", "/v1/assets/auth-probe", { token: null, headers: { authorization: header } }),
		);
	});

	it("a missing header → 401 on every /v1 route, before any validation or upstream call", async () => {
		for (const [method, path, body] of ROUTES) {
			const res = await call(method, path, { token: null, body });
			const err = await expect401(res);
			expect(err.error.message).toMatch(/Authorization: Bearer/);
		}
		expect(world.fakes.upstreamCalls).toEqual([]);
	});

	it("the token in a query string or another header does not authenticate", async () => {
		await expect401(await call("GET", `/v1/assets/auth-probe?access_token=${TOKEN_A}`, { token: null }));
		await expect401(
			await call("GET", "/v1/assets/auth-probe", {
				token: null,
				headers: { "x-api-key": TOKEN_A, cookie: `token=${TOKEN_A}` },
			}),
		);
		await expect401(
			await call("GET", "/v1/assets/auth-probe", {
				token: null,
				headers: { "proxy-authorization": `Bearer ${TOKEN_A}` },
			}),
		);
	});

	const nearMisses: [string, string][] = [
		...[...TOKEN_A].map((ch, i): [string, string] => [
			`char ${i} changed`,
			TOKEN_A.slice(0, i) + (ch === "a" ? "b" : "a") + TOKEN_A.slice(i + 1),
		]),
		["one char appended", `${TOKEN_A}a`],
		["padding appended", `${TOKEN_A}=`],
		["last char cut", TOKEN_A.slice(0, -1)],
		["first char cut", TOKEN_A.slice(1)],
		["common prefix only", "tok_"],
		["the other token's prefix", TOKEN_B.slice(0, -1)],
		["the other token with a char changed", `${TOKEN_B.slice(0, -1)}x`],
		["upper-cased", TOKEN_A.toUpperCase()],
		["both tokens joined", TOKEN_A + TOKEN_B],
		["the token's own SHA-256, which the service keeps as the owner id", ""],
	];

	it.each(nearMisses)("near miss: %s → 401", async (label, token) => {
		const presented = label.startsWith("the token's own SHA-256") ? await hashToken(TOKEN_A) : token;
		const err = await expect401(await call("GET", "/v1/assets/auth-probe", { token: presented }));
		expect(err.error.message).toBe("the bearer token is not valid");
	});

	it("a token removed from API_TOKENS is refused on every route, and the one kept still works", async () => {
		const onlyB = { ...env, API_TOKENS: TOKEN_B };
		for (const [method, path, body] of ROUTES) {
			const init: RequestInit = { method, headers: { authorization: `Bearer ${TOKEN_A}` } };
			if (body !== undefined) {
				init.body = JSON.stringify(body);
				(init.headers as Record<string, string>)["content-type"] = "application/json";
			}
			await expect401(await app.request(path, init, onlyB));
		}
		world.fakes.script("auth-kept", { status: "Processing" });
		const kept = await app.request(
			"/v1/assets/auth-kept",
			{ headers: { authorization: `Bearer ${TOKEN_B}` } },
			onlyB,
		);
		expect(kept.status).toBe(200);
	});

	it("refusals say nothing about the configured tokens", async () => {
		const bodies = new Set<string>();
		for (const token of ["x", TOKEN_A.slice(0, -1), `${TOKEN_B}x`, "tok_alpha"]) {
			const err = await expect401(await call("GET", "/v1/assets/auth-probe", { token }));
			bodies.add(JSON.stringify(err));
		}
		expect(bodies.size).toBe(1);
	});
});

describe("RFC spellings of a valid credential", () => {
	// The auth-scheme is case-insensitive (RFC 9110 §11.1) and RFC 6750 allows one or more spaces
	// before the token; refusing these would break conforming clients and protect nothing.
	it.each([
		["lowercase scheme", `bearer ${TOKEN_A}`],
		["uppercase scheme", `BEARER ${TOKEN_A}`],
		["two spaces", `Bearer  ${TOKEN_A}`],
		["trailing space (trimmed by HTTP)", `Bearer ${TOKEN_A} `],
	])("%s is accepted", async (_label, header) => {
		world.fakes.script("auth-rfc", { status: "Processing" });
		const res = await call("GET", "/v1/assets/auth-rfc", { token: null, headers: { authorization: header } });
		expect(res.status).toBe(200);
	});
});

describe("the verifier", () => {
	const CONFIGURED = [TOKEN_A, TOKEN_B, "acme:tok_gamma_77", "tok_delta_01"];

	it.each([
		["the first token", TOKEN_A, TOKEN_A],
		["the last token", "tok_delta_01", "tok_delta_01"],
		["a named client's token", "tok_gamma_77", "client:acme"],
		["no token", "tok_nope", null],
		["an empty string", "", null],
	])("compares %s against every configured token, on digests only", async (_label, presented, owner) => {
		const equal = vi.fn(timingSafeEqual);
		expect(await matchToken(presented, CONFIGURED, equal)).toBe(owner);
		// No early exit: as many comparisons on a match as on a miss, so timing cannot tell them apart.
		expect(equal).toHaveBeenCalledTimes(CONFIGURED.length);
		// Each comparison is between fixed-length SHA-256 digests, so no token's length leaks either.
		for (const [a, b] of equal.mock.calls) {
			expect(a).toMatch(/^[0-9a-f]{64}$/);
			expect(b).toMatch(/^[0-9a-f]{64}$/);
		}
	});

	it("a bare entry is its own owner; `client:token` names the owner", () => {
		expect(credentialOf("tok_x")).toEqual({ token: "tok_x", ownerKey: "tok_x" });
		expect(credentialOf("acme:tok_x")).toEqual({ token: "tok_x", ownerKey: "client:acme" });
		// A client key can never equal a bare token: bearer tokens cannot contain ":".
		expect(credentialOf(":tok_x")).toEqual({ token: ":tok_x", ownerKey: ":tok_x" });
	});
});

describe("a token sees and changes only its own watches", () => {
	async function register(token: string, assetId: string, url: string): Promise<Response> {
		return call("POST", "/v1/watches", { token, body: { asset_id: assetId, callback_url: url } });
	}

	async function expectNoSuchWatch(res: Response): Promise<string> {
		expect(res.status).toBe(404);
		expect(res.headers.get("x-request-id")).toBeTruthy();
		const body = await json<ErrorBody>(res);
		expect(body.error.code).toBe("watch_not_found");
		return JSON.stringify(body);
	}

	it("GET, DELETE and redeliver of another token's watch answer 404, exactly as for no watch at all", async () => {
		const asset = unique("iso");
		const url = `https://receiver.example/${asset}`;
		const res = await register(TOKEN_A, asset, url);
		expect(res.status).toBe(201);
		const w = await json<Watch>(res);
		// The same asset, a well-formed id that was never issued.
		const forged = w.id.replace(/^w_[a-z2-7]{20}_/, "w_abcdefghijklmnopqrst_");

		const answers = new Set<string>();
		for (const id of [w.id, forged]) {
			answers.add(await expectNoSuchWatch(await call("GET", `/v1/watches/${id}`, { token: TOKEN_B })));
			answers.add(await expectNoSuchWatch(await call("DELETE", `/v1/watches/${id}`, { token: TOKEN_B })));
			answers.add(
				await expectNoSuchWatch(await call("POST", `/v1/watches/${id}/redeliver`, { token: TOKEN_B })),
			);
		}
		// One body for all six: nothing tells B that the first id exists.
		expect(answers.size).toBe(1);

		const after = await call("GET", `/v1/watches/${w.id}`, { token: TOKEN_A });
		expect(after.status).toBe(200);
		expect(await json(after)).toEqual(w);
	});

	it("registering the same asset and URL gives each token its own watch", async () => {
		const asset = unique("iso-dup");
		const url = `https://receiver.example/${asset}`;
		const a = await json<Watch>(await register(TOKEN_A, asset, url));
		const b1 = await register(TOKEN_B, asset, url);
		expect(b1.status).toBe(201);
		const b = await json<Watch>(b1);
		expect(b.id).not.toBe(a.id);
		const again = await register(TOKEN_B, asset, url);
		expect(again.status).toBe(200);
		expect((await json<Watch>(again)).id).toBe(b.id);

		const batch = await call("POST", "/v1/watches/batch", {
			token: TOKEN_B,
			body: { watches: [{ asset_id: asset, callback_url: url }] },
		});
		expect(batch.status).toBe(200);
		const results = (await json<{ results: { status: number; watch?: Watch }[] }>(batch)).results;
		expect(results[0]?.status).toBe(200);
		expect(results[0]?.watch?.id).toBe(b.id);
	});

	it("after delivery, another token can neither redeliver nor cancel the watch, and nothing is sent", async () => {
		const asset = unique("iso-done");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		const w = await json<Watch>(await register(TOKEN_A, asset, url));
		await stepUntil(
			world.vclock,
			asset,
			async () => (await json<Watch>(await call("GET", `/v1/watches/${w.id}`))).state === "delivered",
		);
		const sent = world.fakes.deliveriesTo(url).length;
		await expectNoSuchWatch(await call("POST", `/v1/watches/${w.id}/redeliver`, { token: TOKEN_B }));
		await expectNoSuchWatch(await call("DELETE", `/v1/watches/${w.id}`, { token: TOKEN_B }));
		await stepUntil(world.vclock, asset, () => false, 5).catch(() => {});
		expect(world.fakes.deliveriesTo(url)).toHaveLength(sent);
		expect((await json<Watch>(await call("GET", `/v1/watches/${w.id}`))).state).toBe("delivered");
	});

	it("GET /v1/watches never lists another token's watch, whatever the filter or cursor", async () => {
		const asset = unique("iso-list");
		const mine: string[] = [];
		for (let i = 0; i < 3; i++) {
			const r = await register(TOKEN_A, asset, `https://receiver.example/${asset}/${i}`);
			mine.push((await json<Watch>(r)).id);
		}
		const theirs = await json<Watch>(await register(TOKEN_B, asset, `https://receiver.example/${asset}/b`));
		// The registrations reach the index in the alarm that runs right after them.
		await runDue(world.vclock, asset);

		for (const query of [
			"",
			`?asset_id=${asset}`,
			"?state=watching",
			`?asset_id=${asset}&state=watching&limit=1`,
		]) {
			let path = `/v1/watches${query}`;
			const seen: string[] = [];
			for (let page = 0; page < 20; page++) {
				const res = await call("GET", path, { token: TOKEN_B });
				expect(res.status).toBe(200);
				const body = await json<{ watches: Watch[]; next_cursor: string | null }>(res);
				seen.push(...body.watches.map((w) => w.id));
				if (!body.next_cursor) break;
				path = `/v1/watches${query}${query ? "&" : "?"}cursor=${encodeURIComponent(body.next_cursor)}`;
			}
			for (const id of mine) expect(seen).not.toContain(id);
			if (query.includes("asset_id")) expect(seen).toEqual([theirs.id]);
		}

		// A's own cursor handed to B pages through B's watches only.
		const aPage = await json<{ next_cursor: string | null }>(
			await call("GET", `/v1/watches?asset_id=${asset}&limit=1`, { token: TOKEN_A }),
		);
		if (aPage.next_cursor) {
			const res = await call(
				"GET",
				`/v1/watches?asset_id=${asset}&limit=1&cursor=${encodeURIComponent(aPage.next_cursor)}`,
				{
					token: TOKEN_B,
				},
			);
			expect([200, 400]).toContain(res.status);
			if (res.status === 200) {
				const ids = (await json<{ watches: Watch[] }>(res)).watches.map((w) => w.id);
				for (const id of mine) expect(ids).not.toContain(id);
			}
		}
	});

	it("another token can neither redeliver in bulk, nor count, A's watches, nor see A's receiver origins", async () => {
		const asset = unique("iso-bulk");
		const origin = `https://${asset}.example`;
		world.fakes.script(asset, { status: "Active" });
		const w = await json<Watch>(await register(TOKEN_A, asset, `${origin}/hook`));
		await stepUntil(
			world.vclock,
			asset,
			async () => (await json<Watch>(await call("GET", `/v1/watches/${w.id}`))).state === "delivered",
		);
		const sent = world.fakes.deliveries.length;
		const delivered = await json(await call("GET", `/v1/watches/${w.id}`));
		for (const body of [{ state: "delivered" }, { state: "delivered", asset_id: asset }]) {
			const res = await call("POST", "/v1/watches/redeliver", { token: TOKEN_B, body });
			expect(res.status).toBe(202);
			expect(await json(res)).toEqual({ matched: 0, redelivered: 0, next_cursor: null });
		}
		await stepUntil(world.vclock, asset, () => false, 3).catch(() => {});
		expect(world.fakes.deliveries).toHaveLength(sent);
		expect(await json(await call("GET", `/v1/watches/${w.id}`))).toEqual(delivered);
		const theirs = await json<{ receivers: { origin: string }[] }>(
			await call("GET", "/v1/receivers?limit=100", { token: TOKEN_B }),
		);
		expect(theirs.receivers.map((r) => r.origin)).not.toContain(origin);
		const mine = await json<{ receivers: { origin: string }[] }>(
			await call("GET", "/v1/receivers?limit=100"),
		);
		expect(mine.receivers.map((r) => r.origin)).toContain(origin);
	});

	it("GET /v1/stats counts only the caller's own watches", async () => {
		const before = await json<{ watches: { total: number } }>(
			await call("GET", "/v1/stats", { token: TOKEN_B }),
		);
		const asset = unique("iso-stats");
		for (let i = 0; i < 3; i++) await register(TOKEN_A, asset, `https://receiver.example/${asset}/${i}`);
		const after = await json<{ watches: { total: number } }>(
			await call("GET", "/v1/stats", { token: TOKEN_B }),
		);
		expect(after.watches.total).toBe(before.watches.total);
	});

	it("entries `client:token` share one owner, so a rotated token keeps the client's watches", async () => {
		const both = { ...env, API_TOKENS: "acme:tok_acme_new,acme:tok_acme_old" };
		const newOnly = { ...env, API_TOKENS: "acme:tok_acme_new" };
		const asset = unique("iso-rotate");
		const created = await app.request(
			"/v1/watches",
			{
				method: "POST",
				headers: { authorization: "Bearer tok_acme_old", "content-type": "application/json" },
				body: JSON.stringify({ asset_id: asset, callback_url: `https://receiver.example/${asset}` }),
			},
			both,
		);
		expect(created.status).toBe(201);
		const w = await json<Watch>(created);
		const get = (token: string, e: Env) =>
			app.request(`/v1/watches/${w.id}`, { headers: { authorization: `Bearer ${token}` } }, e);
		expect((await get("tok_acme_new", both)).status).toBe(200);
		expect((await get("tok_acme_new", newOnly)).status).toBe(200);
		await expect401(await get("tok_acme_old", newOnly));
		// A bare token is a different owner, even the test tokens.
		expect((await call("GET", `/v1/watches/${w.id}`, { token: TOKEN_A })).status).toBe(404);
	});
});
