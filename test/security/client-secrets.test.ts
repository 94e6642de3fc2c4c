// Per-client signing secrets (CLIENT_WEBHOOK_SECRETS): a client's callbacks are signed with every
// one of its own secrets (a rotation) and verify with each under the reference verifier, never
// with another client's secret or with WEBHOOK_SECRET; a bare token's with WEBHOOK_SECRET only.
// A client whose entry cannot be used has its callbacks held and its registrations refused (503),
// others carry on; /healthz names the entry and the problem, never a value.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { parseConfig } from "../../src/core/config";
import {
	call,
	type Delivery,
	json,
	TOKEN_A,
	TOKEN_ACME,
	TOKEN_GLOBEX,
	unique,
	useFakeWorld,
	WEBHOOK_SECRET,
} from "../support/fakes";
import { CLIENT_SECRETS, TEST_SECRETS } from "../support/secrets";
import { step, stubOf } from "../support/steps";

const world = useFakeWorld();
const [ACME_OLD, ACME_NEW] = CLIENT_SECRETS.acme as [string, string];
const GLOBEX = CLIENT_SECRETS.globex;

type Watch = { id: string; state: string; delivery: { attempts: number; last_error: string | null } | null };

/** One delivered callback of a watch registered with `token`. */
async function deliveredWith(token: string): Promise<Delivery> {
	const asset = unique("signed");
	const url = `https://receiver.example/${asset}`;
	world.fakes.script(asset, { status: "Active" });
	const res = await call("POST", "/v1/watches", { token, body: { asset_id: asset, callback_url: url } });
	expect(res.status).toBe(201);
	await step(world.vclock, asset);
	const [d] = world.fakes.deliveriesTo(url);
	expect(d).toBeDefined();
	return d as Delivery;
}

/** Whether the reference verifier accepts the callback with `secret`, at the moment it was sent. */
function verifies(d: Delivery, secret: string): boolean {
	const now = vi.spyOn(Date, "now").mockReturnValue(Number(d.headers["webhook-timestamp"]) * 1000);
	try {
		new Webhook(secret).verify(d.body, d.headers);
		return true;
	} catch {
		return false;
	} finally {
		now.mockRestore();
	}
}

describe("each client signs with its own secrets", () => {
	it("a client's callbacks verify with each of its secrets (a rotation), and only with those", async () => {
		const d = await deliveredWith(TOKEN_ACME);
		expect(d.headers["webhook-signature"]?.split(" ")).toHaveLength(2);
		expect(verifies(d, ACME_OLD)).toBe(true);
		expect(verifies(d, ACME_NEW)).toBe(true);
		expect(verifies(d, GLOBEX)).toBe(false);
		expect(verifies(d, WEBHOOK_SECRET)).toBe(false);
	});

	it("another client's secret never verifies them, nor does theirs verify this one's", async () => {
		const g = await deliveredWith(TOKEN_GLOBEX);
		expect(verifies(g, GLOBEX)).toBe(true);
		for (const other of [ACME_OLD, ACME_NEW, WEBHOOK_SECRET]) expect(verifies(g, other)).toBe(false);
	});

	it("a bare token (no client) is signed with WEBHOOK_SECRET, which no client secret verifies", async () => {
		const d = await deliveredWith(TOKEN_A);
		expect(verifies(d, WEBHOOK_SECRET)).toBe(true);
		for (const other of [ACME_OLD, ACME_NEW, GLOBEX]) expect(verifies(d, other)).toBe(false);
	});

	it("retries and redeliveries keep the watch's client's secrets", async () => {
		const asset = unique("signed-retry");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		world.fakes.receiver(url, 500, 204);
		const w = await json<Watch>(
			await call("POST", "/v1/watches", { token: TOKEN_ACME, body: { asset_id: asset, callback_url: url } }),
		);
		await step(world.vclock, asset);
		await step(world.vclock, asset);
		expect((await call("POST", `/v1/watches/${w.id}/redeliver`, { token: TOKEN_ACME })).status).toBe(202);
		await step(world.vclock, asset);
		const ds = world.fakes.deliveriesTo(url);
		expect(ds).toHaveLength(3);
		for (const d of ds) {
			expect(verifies(d, ACME_NEW)).toBe(true);
			expect(verifies(d, WEBHOOK_SECRET)).toBe(false);
		}
	});
});

describe("a client entry that cannot be used", () => {
	const brokenAcme = JSON.stringify({ acme: "whsec_not base64!", globex: GLOBEX });

	it("holds that client's callbacks (no attempt, nothing sent) and only that client's", async () => {
		const asset = unique("broken-entry");
		const url = `https://receiver.example/${asset}`;
		world.fakes.script(asset, { status: "Active" });
		// The asset object runs with the broken entry; the API that registers it with a good one.
		await runInDurableObject(stubOf(asset), (instance) => {
			const o = instance as unknown as { env: Env };
			o.env = { ...o.env, CLIENT_WEBHOOK_SECRETS: brokenAcme } as Env;
		});
		const acme = await json<Watch>(
			await call("POST", "/v1/watches", { token: TOKEN_ACME, body: { asset_id: asset, callback_url: url } }),
		);
		const globex = await json<Watch>(
			await call("POST", "/v1/watches", {
				token: TOKEN_GLOBEX,
				body: { asset_id: asset, callback_url: `${url}/g` },
			}),
		);
		await step(world.vclock, asset);
		expect(world.fakes.deliveriesTo(url)).toHaveLength(0);
		const held = await json<Watch>(await call("GET", `/v1/watches/${acme.id}`, { token: TOKEN_ACME }));
		expect(held).toMatchObject({ state: "notifying", delivery: { attempts: 0 } });
		expect(held.delivery?.last_error).toMatch(/CLIENT_WEBHOOK_SECRETS/);
		// The listing (the index) says so too: the event was opened in memory, then held in its row.
		const listed = await json<{ watches: { id: string; state: string }[] }>(
			await call("GET", `/v1/watches?asset_id=${asset}`, { token: TOKEN_ACME }),
		);
		expect(listed.watches.find((x) => x.id === acme.id)?.state).toBe("notifying");
		expect(world.fakes.deliveriesTo(`${url}/g`)).toHaveLength(1);
		expect(
			(await json<Watch>(await call("GET", `/v1/watches/${globex.id}`, { token: TOKEN_GLOBEX }))).state,
		).toBe("delivered");
	});

	it("refuses that client's registrations with 503 not_configured, and takes the others'", async () => {
		const broken = { ...env, CLIENT_WEBHOOK_SECRETS: brokenAcme } as unknown as Env;
		const register = (token: string) =>
			app.request(
				"/v1/watches",
				{
					method: "POST",
					headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
					body: JSON.stringify({ asset_id: unique("nc"), callback_url: "https://receiver.example/nc" }),
				},
				broken,
			);
		const refused = await register(TOKEN_ACME);
		expect(refused.status).toBe(503);
		expect(await refused.json()).toMatchObject({
			error: { code: "not_configured", details: { missing: ["CLIENT_WEBHOOK_SECRETS"] } },
		});
		expect((await register(TOKEN_GLOBEX)).status).toBe(201);
		expect((await register(TOKEN_A)).status).toBe(201);
	});
});

describe("CLIENT_WEBHOOK_SECRETS at startup", () => {
	const base = { ...TEST_SECRETS } as Record<string, unknown>;
	const problems = (value: string) =>
		parseConfig({ ...base, CLIENT_WEBHOOK_SECRETS: value }).invalid.filter(
			(i) => i.name === "CLIENT_WEBHOOK_SECRETS",
		);

	it("the test configuration is valid, and /healthz says so", async () => {
		expect(problems(TEST_SECRETS.CLIENT_WEBHOOK_SECRETS)).toEqual([]);
		const res = await call("GET", "/healthz", { token: null });
		expect(await res.json()).toMatchObject({ ok: true, invalid_config: [] });
	});

	it.each([
		["not JSON", "{acme: whsec_x", /must be a JSON object/],
		["a JSON array", `["${GLOBEX}"]`, /must be a JSON object/],
		[
			"a secret that is not whsec_ base64",
			JSON.stringify({ acme: "whsec_!!" }),
			/^client "acme": each secret/,
		],
		["an empty list", JSON.stringify({ acme: [] }), /^client "acme": must be/],
		["a number", JSON.stringify({ acme: 7 }), /^client "acme": must be/],
		[
			"a secret also in WEBHOOK_SECRET",
			JSON.stringify({ acme: WEBHOOK_SECRET }),
			/^client "acme": a secret is also in WEBHOOK_SECRET/,
		],
	])("%s is named by client and problem", (_label, value, problem) => {
		const found = problems(value);
		expect(found).toHaveLength(1);
		expect(found[0]?.problem).toMatch(problem);
	});

	it("two clients sharing a secret: both refused, so neither can verify the other's callbacks", () => {
		const found = problems(JSON.stringify({ acme: [ACME_OLD, GLOBEX], globex: GLOBEX }));
		expect(found.map((f) => f.problem).sort()).toEqual([
			'client "acme": shares a secret with another client; each client needs its own',
			'client "globex": shares a secret with another client; each client needs its own',
		]);
		const config = parseConfig({
			...base,
			CLIENT_WEBHOOK_SECRETS: JSON.stringify({ acme: [ACME_OLD, GLOBEX], globex: GLOBEX }),
		});
		expect("problem" in (config.CLIENT_WEBHOOK_SECRETS.clients.get("acme") ?? {})).toBe(true);
		expect("problem" in (config.CLIENT_WEBHOOK_SECRETS.clients.get("globex") ?? {})).toBe(true);
	});

	it("an entry named by something that is no client (a value pasted as a name) is named by position only", async () => {
		const swapped = JSON.stringify({ acme: ACME_OLD, [GLOBEX]: "globex" });
		const found = problems(swapped);
		expect(found.map((f) => f.problem)).toEqual(["entry 2: each secret must be whsec_ followed by base64"]);
		const res = await app.request("/healthz", {}, {
			...env,
			CLIENT_WEBHOOK_SECRETS: swapped,
		} as unknown as Env);
		expect(res.status).toBe(503);
		const text = await res.text();
		expect(text).toContain("entry 2");
		for (const secret of [ACME_OLD, GLOBEX, GLOBEX.slice("whsec_".length)])
			expect(text).not.toContain(secret);
	});
});
