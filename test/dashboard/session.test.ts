// The dashboard's session cookie on its own: it names the owner hash and holds no token; it verifies
// only as signed, only until it expires, only while its token is configured for the same owner and
// only under the DASHBOARD_SESSION_SECRET it was made with; each session has its own CSRF token.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config";
import { hashToken } from "../../src/core/ids";
import { csrfMatches, readSession, SESSION_TTL_S, startSession } from "../../src/dashboard/session";
import { secretValues } from "../../src/http/secret-egress";
import { TEST_SECRETS } from "../support/secrets";

const NOW = Date.UTC(2026, 10, 28, 12);
const configWith = (vars: Record<string, string> = {}) => parseConfig({ ...TEST_SECRETS, ...vars });
const config = configWith({ API_TOKENS: "tok_alpha_5b1c,acme:tok_acme_77f0" });

async function started(token: string, c = config, now = NOW) {
	const s = await startSession(c, token, now);
	if (!s) throw new Error("sign-in refused");
	return s;
}

describe("dashboard session", () => {
	it("refuses a token that is not configured, an empty one and a near miss", async () => {
		for (const t of ["", "tok_alpha_5b1", "tok_alpha_5b1c ", "TOK_ALPHA_5B1C", "acme:tok_acme_77f0"])
			expect(await startSession(config, t, NOW)).toBeNull();
	});

	it("names the owner hash (as /v1 records it) and never holds the token", async () => {
		const { cookie, session } = await started("tok_alpha_5b1c");
		expect(session.owner).toBe(await hashToken("tok_alpha_5b1c"));
		expect(cookie).toContain(session.owner);
		expect(cookie).not.toContain("tok_alpha_5b1c");
		const client = await started("tok_acme_77f0");
		expect(client.session.owner).toBe(await hashToken("client:acme"));
		expect(client.session.label).toBe("client acme");
		// The owner of a `client:` entry is its client, not its token: no trace of the token at all.
		expect(client.cookie).toContain(await hashToken("client:acme"));
		for (const leak of ["tok_acme_77f0", await hashToken("tok_acme_77f0")])
			expect(client.cookie).not.toContain(leak);
		// A bare token is its own owner key: the label shows a prefix of the hash, never the token.
		expect(session.label).toBe(`token ${session.owner.slice(0, 8)}…`);
	});

	it("reads back until it expires, and not after", async () => {
		const { cookie, session } = await started("tok_alpha_5b1c");
		expect(session.expiresAt).toBe(NOW + SESSION_TTL_S * 1000);
		expect(await readSession(config, cookie, NOW + 1000)).toMatchObject({
			owner: session.owner,
			csrf: session.csrf,
		});
		expect(await readSession(config, cookie, session.expiresAt - 1)).not.toBeNull();
		expect(await readSession(config, cookie, session.expiresAt)).toBeNull();
	});

	it("refuses a cookie changed in any part: owner, expiry, nonce, signature, token id", async () => {
		const { cookie } = await started("tok_alpha_5b1c");
		const other = await started("tok_acme_77f0");
		const [v, tid, owner, exp, nonce, sig] = cookie.split(".") as string[];
		const parts = other.cookie.split(".") as string[];
		const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
		const forged = [
			[v, tid, parts[2], exp, nonce, sig], // another owner
			[v, tid, owner, String(Number(exp) + 86_400), nonce, sig], // a longer life
			[v, tid, owner, `0${exp}`, nonce, sig], // the same expiry spelled otherwise
			[v, tid, owner, exp, flip(nonce ?? ""), sig],
			[v, tid, owner, exp, nonce, flip(sig ?? "")],
			[v, parts[1], owner, exp, nonce, sig], // another token's key
			[v, tid, owner, exp, nonce, parts[5]], // another session's signature
			["v2", tid, owner, exp, nonce, sig],
		].map((p) => p.join("."));
		for (const f of [...forged, "", "garbage", `${cookie}.x`, cookie.slice(0, -1)])
			expect(await readSession(config, f, NOW)).toBeNull();
		expect(await readSession(config, cookie, NOW)).not.toBeNull();
	});

	it("dies when its token is removed from API_TOKENS or given to another client, and no other", async () => {
		const alpha = await started("tok_alpha_5b1c");
		const acme = await started("tok_acme_77f0");
		const withoutAlpha = configWith({ API_TOKENS: "acme:tok_acme_77f0,tok_new_0000" });
		expect(await readSession(withoutAlpha, alpha.cookie, NOW)).toBeNull();
		expect(await readSession(withoutAlpha, acme.cookie, NOW)).not.toBeNull();
		const moved = configWith({ API_TOKENS: "tok_alpha_5b1c,other:tok_acme_77f0" });
		expect(await readSession(moved, acme.cookie, NOW)).toBeNull();
		expect(await readSession(moved, alpha.cookie, NOW)).not.toBeNull();
	});

	it("is bound to DASHBOARD_SESSION_SECRET: rotating it signs every session out", async () => {
		const a = configWith({ DASHBOARD_SESSION_SECRET: "a".repeat(40) });
		const b = configWith({ DASHBOARD_SESSION_SECRET: "b".repeat(40) });
		const s = await started("tok_alpha_5b1c", a);
		expect(await readSession(a, s.cookie, NOW)).not.toBeNull();
		expect(await readSession(b, s.cookie, NOW)).toBeNull();
		expect(await readSession(configWith(), s.cookie, NOW)).toBeNull();
		// Like every secret, it is withheld from any response that would carry it.
		expect(secretValues(a)).toContain("a".repeat(40));
	});

	it("gives each session its own CSRF token, which only that session accepts", async () => {
		const one = await started("tok_alpha_5b1c");
		const two = await started("tok_alpha_5b1c");
		expect(one.session.csrf).not.toBe(two.session.csrf);
		expect(await csrfMatches(one.session, one.session.csrf)).toBe(true);
		for (const bad of [two.session.csrf, "", undefined, 42, `${one.session.csrf}x`])
			expect(await csrfMatches(one.session, bad)).toBe(false);
	});
});
