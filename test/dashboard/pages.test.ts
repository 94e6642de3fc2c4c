// The dashboard through the worker's fetch, as a browser's requests would reach it: sign-in and its
// cookie over https and over local http, what a signed-out, forged or stale cookie gets, the
// strict headers, one token's watches only, redeliver and cancel through the same RPCs as the API,
// cross-site and token-less POSTs that change nothing, and user data rendered only as text.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { hashToken } from "../../src/core/ids";
import { call, json, TOKEN_A, TOKEN_B, unique, useFakeWorld } from "../support/fakes";

import { runDue, step, stepUntil, stubOf } from "../support/steps";

const world = useFakeWorld();

const HTTPS = "https://watcher.test";
const LOCAL = "http://127.0.0.1:8787";

type Watch = { id: string; state: string; delivery: { attempts: number } | null };

interface Sent {
	method?: string;
	form?: Record<string, string>;
	headers?: Record<string, string>;
	/** the Origin header of a POST; defaults to the page's own origin, null sends none */
	origin?: string | null;
}

/** A browser's view of the dashboard on one origin: it keeps the session cookie it is given. */
class Browser {
	cookie: string | null = null;
	csrf = "";
	constructor(
		readonly origin = HTTPS,
		readonly bindings: Env | null = null,
	) {}

	async send(path: string, sent: Sent = {}): Promise<Response> {
		const method = sent.method ?? (sent.form ? "POST" : "GET");
		const headers = new Headers(sent.headers);
		if (this.cookie) headers.set("cookie", this.cookie);
		if (method === "POST") {
			const origin = sent.origin === undefined ? this.origin : sent.origin;
			if (origin !== null) headers.set("origin", origin);
			if (!headers.has("content-type")) headers.set("content-type", "application/x-www-form-urlencoded");
		}
		const body = sent.form ? new URLSearchParams(sent.form).toString() : undefined;
		const req = new Request(`${this.origin}${path}`, { method, headers, body, redirect: "manual" });
		const res = this.bindings
			? await app.request(req, undefined, this.bindings)
			: await exports.default.fetch(req);
		const set = res.headers.get("set-cookie");
		if (set) {
			const [pair = ""] = set.split(";");
			this.cookie = /=$/.test(pair) || /max-age=0/i.test(set) ? null : pair;
		}
		return res;
	}

	async page(path: string): Promise<string> {
		const res = await this.send(path);
		expect(res.status, `${path} answered ${res.status}`).toBe(200);
		const text = await res.text();
		this.csrf = /name="csrf" value="([^"]+)"/.exec(text)?.[1] ?? this.csrf;
		return text;
	}

	async signIn(token: string): Promise<Response> {
		return this.send("/dashboard/sign-in", { form: { token, next: "/dashboard" } });
	}

	/** A button press: the form with this page's CSRF token. */
	post(path: string, extra: Sent = {}): Promise<Response> {
		return this.send(path, { ...extra, form: { csrf: this.csrf, ...extra.form } });
	}
}

async function signedIn(token = TOKEN_A, origin = HTTPS): Promise<Browser> {
	const b = new Browser(origin);
	const res = await b.signIn(token);
	expect(res.status).toBe(303);
	await b.page("/dashboard");
	return b;
}

async function register(token: string, assetId: string, extra: Record<string, unknown> = {}): Promise<Watch> {
	const res = await call("POST", "/v1/watches", {
		token,
		body: { asset_id: assetId, callback_url: `https://receiver.example/${assetId}`, ...extra },
	});
	expect(res.status).toBe(201);
	// The registration's alarm (due now) does the first check and tells the index, which lists read.
	await runDue(world.vclock, assetId);
	return json<Watch>(res);
}

const apiWatch = async (id: string, token = TOKEN_A) =>
	json<Watch>(await call("GET", `/v1/watches/${id}`, { token }));

/** Registers a watch and steps its asset to Active until the callback is delivered. */
async function delivered(assetId: string): Promise<Watch> {
	world.fakes.script(assetId, { status: "Active" });
	const w = await register(TOKEN_A, assetId);
	await stepUntil(world.vclock, assetId, async () => (await apiWatch(w.id)).state === "delivered");
	return apiWatch(w.id);
}

const text = (html: string) =>
	html
		.replace(/<[^>]+>/g, " ")
		.replace(/&lt;/g, "<")
		.replace(/&gt;/g, ">")
		.replace(/&quot;/g, '"')
		.replace(/&#39;/g, "'")
		.replace(/&amp;/g, "&")
		.replace(/\s+/g, " ");

describe("signing in", () => {
	it("sends a signed-out visitor to the sign-in form, which asks for a token in a password field", async () => {
		const b = new Browser();
		const res = await b.send("/dashboard/watches?state=failed");
		expect(res.status).toBe(303);
		expect(res.headers.get("location")).toBe(
			`/dashboard/sign-in?next=${encodeURIComponent("/dashboard/watches?state=failed")}`,
		);
		const form = await b.page("/dashboard/sign-in");
		expect(form).toMatch(/^<!doctype html>/);
		expect(form).toMatch(/<input type="password" name="token"/);
		expect(form).not.toMatch(/<script/i);
	});

	it("over https: a __Host- cookie that is HttpOnly, Secure, SameSite=Strict, Path=/ and expires", async () => {
		const b = new Browser(HTTPS);
		const res = await b.signIn(TOKEN_A);
		expect(res.status).toBe(303);
		expect(res.headers.get("location")).toBe("/dashboard");
		const set = res.headers.get("set-cookie") ?? "";
		expect(set).toMatch(/^__Host-dashboard_session=v1\./);
		expect(set).toMatch(/; HttpOnly/);
		expect(set).toMatch(/; Secure/);
		expect(set).toMatch(/; SameSite=Strict/);
		expect(set).toMatch(/; Path=\//);
		expect(set).toMatch(/; Max-Age=43200/);
		expect(set).not.toMatch(/Domain=/i);
		expect(set).not.toContain(TOKEN_A);
		expect(await b.page("/dashboard")).toContain("Watches by state");
	});

	it("over plain http on this machine: the same cookie without Secure (browsers differ on keeping it)", async () => {
		const b = new Browser(LOCAL);
		const res = await b.signIn(TOKEN_A);
		expect(res.status).toBe(303);
		const set = res.headers.get("set-cookie") ?? "";
		expect(set).toMatch(/^dashboard_session=v1\./);
		expect(set).toMatch(/; HttpOnly/);
		expect(set).toMatch(/; SameSite=Strict/);
		expect(set).not.toMatch(/Secure/i);
		expect(await b.page("/dashboard")).toContain("Watches by state");
	});

	it("over plain http from anywhere else: only a redirect to https, and no sign-in", async () => {
		const b = new Browser("http://watcher.test");
		const res = await b.send("/dashboard/watches?state=failed");
		expect(res.status).toBe(308);
		expect(res.headers.get("location")).toBe("https://watcher.test/dashboard/watches?state=failed");
		const post = await b.signIn(TOKEN_A);
		expect(post.status).toBe(403);
		expect(post.headers.get("set-cookie")).toBeNull();
	});

	it("refuses a wrong token with 401 and no cookie, the same way for every kind of wrong", async () => {
		const answers = new Set<string>();
		for (const t of ["nope", `${TOKEN_A}x`, TOKEN_A.slice(0, -1), " ", "a".repeat(900)]) {
			const b = new Browser();
			const res = await b.signIn(t);
			expect(res.status).toBe(401);
			expect(res.headers.get("set-cookie")).toBeNull();
			answers.add(text(await res.text()).replace(/Request id \S+/, ""));
		}
		expect(answers.size).toBe(1);
		expect([...answers][0]).toContain("That token is not accepted.");
	});

	it("goes back where the visitor was going, and never to another site", async () => {
		const b = new Browser();
		const ok = await b.send("/dashboard/sign-in", {
			form: { token: TOKEN_A, next: "/dashboard/watches?state=failed" },
		});
		expect(ok.headers.get("location")).toBe("/dashboard/watches?state=failed");
		for (const next of [
			"https://evil.example/",
			"//evil.example/dashboard",
			"/dashboard//evil.example",
			"/v1/stats",
			"javascript:alert(1)",
		]) {
			const res = await new Browser().send("/dashboard/sign-in", { form: { token: TOKEN_A, next } });
			expect(res.headers.get("location"), next).toBe("/dashboard");
		}
	});

	it("signs out: the cookie is cleared and the pages are out of reach again", async () => {
		const b = await signedIn();
		const kept = b.cookie;
		const res = await b.post("/dashboard/sign-out");
		expect(res.status).toBe(303);
		expect(res.headers.get("location")).toBe("/dashboard/sign-in");
		expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0/);
		expect(b.cookie).toBeNull();
		expect((await b.send("/dashboard")).status).toBe(303);
		// The session is signed, not stored: its cookie, if kept elsewhere, lasts until it expires.
		expect(kept).toMatch(/^__Host-dashboard_session=/);
	});
});

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("a wrong, forged, expired or orphaned cookie sees nothing", () => {
	async function expectOut(b: Browser) {
		for (const path of ["/dashboard", "/dashboard/watches"]) {
			const res = await b.send(path);
			expect(res.status).toBe(303);
			expect(res.headers.get("location")).toMatch(/^\/dashboard\/sign-in/);
			expect(await res.text()).not.toContain("Watches by state");
		}
	}

	it("a forged or garbled cookie", async () => {
		const b = await signedIn();
		const real = b.cookie ?? "";
		const owner = await hashToken(TOKEN_B);
		for (const forged of [
			real.replace(/\.[0-9a-f]{64}\./, `.${owner}.`),
			real.replace(/.(?=.{5}$)/, (c) => (c === "A" ? "B" : "A")),
			// The same signature bytes in another spelling: its last character's two unused bits set.
			real.replace(/.$/, (c) => B64URL.charAt(B64URL.indexOf(c) ^ 1)),
			"__Host-dashboard_session=v1.garbage",
			`__Host-dashboard_session=${TOKEN_A}`,
		]) {
			b.cookie = forged;
			await expectOut(b);
		}
		// The https cookie does not work under the http name, nor the other way round.
		b.cookie = real.replace("__Host-dashboard_session", "dashboard_session");
		await expectOut(b);
	});

	it("an expired cookie", async () => {
		const b = await signedIn();
		world.vclock.advance(12 * 3600_000 + 1000);
		await expectOut(b);
	});

	it("a cookie whose token was removed from API_TOKENS, or under a rotated DASHBOARD_SESSION_SECRET", async () => {
		const signedInCookie = (await signedIn()).cookie;
		const without = new Browser(HTTPS, { ...env, API_TOKENS: TOKEN_B } as Env);
		without.cookie = signedInCookie;
		await expectOut(without);
		const rotated = new Browser(HTTPS, { ...env, DASHBOARD_SESSION_SECRET: "r".repeat(40) } as Env);
		rotated.cookie = signedInCookie;
		await expectOut(rotated);
		// The same cookie with the token still there: in.
		const still = new Browser(HTTPS, { ...env, API_TOKENS: `${TOKEN_B},${TOKEN_A}` } as Env);
		still.cookie = signedInCookie;
		expect(await still.page("/dashboard")).toContain("Watches by state");
	});

	it("a POST without a session changes nothing and answers 401", async () => {
		const w = await register(TOKEN_A, unique("nosess"));
		const res = await new Browser().send(`/dashboard/watches/${w.id}/cancel`, { form: { csrf: "x" } });
		expect(res.status).toBe(401);
		expect((await apiWatch(w.id)).state).toBe("watching");
	});
});

describe("headers", () => {
	it("every page has a strict CSP (no script at all, styles from this origin) and is never cached", async () => {
		const b = await signedIn();
		for (const path of ["/dashboard/sign-in", "/dashboard", "/dashboard/watches"]) {
			const res = await b.send(path);
			const csp = res.headers.get("content-security-policy") ?? "";
			expect(csp).toContain("default-src 'none'");
			expect(csp).toContain("script-src 'none'");
			expect(csp).toContain("style-src 'self'");
			expect(csp).toContain("form-action 'self'");
			expect(csp).toContain("frame-ancestors 'none'");
			expect(csp).not.toMatch(/unsafe|https?:|\*/);
			expect(res.headers.get("x-frame-options")).toBe("DENY");
			expect(res.headers.get("x-content-type-options")).toBe("nosniff");
			expect(res.headers.get("referrer-policy")).toBe("no-referrer");
			expect(res.headers.get("cache-control")).toBe("no-store");
			expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		}
	});

	it("serves its stylesheet itself, under a hash of its text, cached for a year", async () => {
		const page = await new Browser().page("/dashboard/sign-in");
		const href = /<link rel="stylesheet" href="([^"]+)"/.exec(page)?.[1] ?? "";
		expect(href).toMatch(/^\/dashboard\/static\/dashboard\.[0-9a-f]{8}\.css$/);
		const res = await new Browser().send(href);
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toMatch(/^text\/css/);
		expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
		expect(await res.text()).toContain("prefers-color-scheme");
		const old = await new Browser().send("/dashboard/static/dashboard.00000000.css");
		expect(old.headers.get("cache-control")).toBe("public, max-age=60");
		expect((await new Browser().send("/dashboard/static/other.js")).status).toBe(404);
	});
});

describe("what a token sees", () => {
	it("the overview counts what GET /v1/stats counts, for this token only", async () => {
		await register(TOKEN_A, unique("ov"));
		await register(TOKEN_B, unique("ovb"));
		await register(TOKEN_B, unique("ovb"));
		const stats = await json<{ watches: { by_state: Record<string, number>; total: number } }>(
			await call("GET", "/v1/stats"),
		);
		const page = text(await (await signedIn()).page("/dashboard"));
		expect(page).toContain(`watching ${stats.watches.by_state.watching}`);
		expect(page).toContain(`total ${stats.watches.total}`);
		expect(page).toContain("Assets by upstream status");
	});

	it("lists this token's watches only, filters by state and asset id, and pages with the cursor", async () => {
		const assets = [unique("ls"), unique("ls"), unique("ls")];
		const mine: Watch[] = [];
		for (const a of assets) mine.push(await register(TOKEN_A, a));
		const theirs = await register(TOKEN_B, unique("lsb"));
		const b = await signedIn();
		const all = await b.page("/dashboard/watches");
		for (const w of mine) expect(all).toContain(w.id);
		expect(all).not.toContain(theirs.id);
		// The filter form sends an empty state for "any".
		const one = await b.page(`/dashboard/watches?state=&asset_id=${assets[1]}`);
		expect(one).toContain(mine[1]?.id);
		expect(one).not.toContain(mine[0]?.id);
		expect(await b.page("/dashboard/watches?state=delivered")).not.toContain(mine[0]?.id);
		// Their watch's page answers like a missing one.
		const res = await b.send(`/dashboard/watches/${theirs.id}`);
		expect(res.status).toBe(404);
		expect(await res.text()).not.toContain(theirs.id.slice(2, 22));
		// Pages of one: every watch once, through "Next page" links.
		const seen: string[] = [];
		let next: string | null = "/dashboard/watches?limit=1";
		while (next && seen.length < 100) {
			const html = await b.page(next);
			seen.push(...[...html.matchAll(/href="\/dashboard\/watches\/(w_[^"]+)"/g)].map((m) => m[1] ?? ""));
			next = /href="([^"]+)">Next page/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? null;
		}
		for (const w of mine) expect(seen.filter((id) => id === w.id)).toHaveLength(1);
		expect(seen).not.toContain(theirs.id);
	});

	it("answers a bad filter or cursor with a 400 page, not a crash", async () => {
		const b = await signedIn();
		for (const q of ["state=bogus", "asset_id=bad%20id!", "cursor=nope", "limit=0", "extra=1"]) {
			const res = await b.send(`/dashboard/watches?${q}`);
			expect(res.status, q).toBe(400);
			expect(res.headers.get("content-type")).toMatch(/^text\/html/);
		}
		expect((await b.send("/dashboard/watches/not-a-watch-id")).status).toBe(404);
		const unknown = await b.send("/dashboard/nothing-here");
		expect(unknown.status).toBe(404);
		expect(unknown.headers.get("content-type")).toMatch(/^text\/html/);
		const slash = await b.send("/dashboard/");
		expect(slash.status).toBe(308);
		expect(slash.headers.get("location")).toBe("/dashboard");
	});
});

describe("actions", () => {
	it("redeliver: the same RPC as the API, and the attempt count grows", async () => {
		const asset = unique("rd");
		const w = await delivered(asset);
		expect(w.delivery?.attempts).toBe(1);
		const b = await signedIn();
		const before = await b.page(`/dashboard/watches/${w.id}`);
		expect(before).toContain('<span data-testid="attempts">1</span>');
		const res = await b.post(`/dashboard/watches/${w.id}/redeliver`);
		expect(res.status).toBe(303);
		expect(res.headers.get("location")).toBe(`/dashboard/watches/${w.id}?done=redelivered`);
		await stepUntil(world.vclock, asset, async () => (await apiWatch(w.id)).delivery?.attempts === 2);
		const after = await b.page(`/dashboard/watches/${w.id}?done=redelivered`);
		expect(after).toContain("Redelivery scheduled");
		expect(after).toContain('<span data-testid="attempts">2</span>');
		expect(world.fakes.deliveriesTo(`https://receiver.example/${asset}`)).toHaveLength(2);
	});

	it("cancel: the same RPC as the API; the watch is cancelled", async () => {
		const w = await register(TOKEN_A, unique("cx"));
		const b = await signedIn();
		await b.page(`/dashboard/watches/${w.id}`);
		const res = await b.post(`/dashboard/watches/${w.id}/cancel`);
		expect(res.status).toBe(303);
		expect((await apiWatch(w.id)).state).toBe("cancelled");
		const page = text(await b.page(`/dashboard/watches/${w.id}?done=cancelled`));
		expect(page).toContain("The watch is cancelled");
		expect(page).not.toContain("Cancel this watch");
	});

	it("redeliver before there is an event answers the API's 409, as a page", async () => {
		const w = await register(TOKEN_A, unique("rd409"));
		const b = await signedIn();
		await b.page("/dashboard");
		const res = await b.post(`/dashboard/watches/${w.id}/redeliver`);
		expect(res.status).toBe(409);
		expect(text(await res.text())).toContain("the watch has no event to deliver yet");
	});

	it("another token's watch cannot be cancelled or redelivered from this session", async () => {
		const theirs = await register(TOKEN_B, unique("other"));
		const b = await signedIn();
		for (const verb of ["cancel", "redeliver"]) {
			expect((await b.post(`/dashboard/watches/${theirs.id}/${verb}`)).status).toBe(404);
		}
		expect((await apiWatch(theirs.id, TOKEN_B)).state).toBe("watching");
	});
});

describe("recovery", () => {
	/** A watch of `token` whose delivery failed (its asset object retries once, a second later). */
	async function failed(token: string, assetId: string): Promise<Watch> {
		world.fakes.script(assetId, { status: "Active" });
		world.fakes.receiver(`https://receiver.example/${assetId}`, 500, 500, 204);
		await runInDurableObject(stubOf(assetId), (instance) => {
			const o = instance as unknown as { env: Env };
			o.env = { ...o.env, DELIVERY_SCHEDULE_S: "1" } as unknown as Env;
		});
		const w = await register(token, assetId);
		await stepUntil(world.vclock, assetId, async () => (await apiWatch(w.id, token)).state === "failed");
		return w;
	}

	it("the overview's receivers panel shows what GET /v1/receivers answers, for this token only", async () => {
		const origin = `https://${unique("panel")}.example`;
		const asset = unique("panel");
		world.fakes.script(asset, { status: "Active" });
		await call("POST", "/v1/watches", {
			token: TOKEN_B,
			body: { asset_id: asset, callback_url: `${origin}/h` },
		});
		await step(world.vclock, asset);
		const api = await json<{ receivers: { origin: string; state: string }[] }>(
			await call("GET", "/v1/receivers", { token: TOKEN_B }),
		);
		expect(api.receivers.map((r) => r.origin)).toContain(origin);
		const theirs = text(await (await signedIn(TOKEN_B)).page("/dashboard"));
		expect(theirs).toContain("Receivers");
		for (const r of api.receivers) expect(theirs).toContain(`${r.origin}`);
		expect(theirs).toMatch(new RegExp(`${origin.replace(/\./g, "\\.")} healthy`));
		expect(text(await (await signedIn(TOKEN_A)).page("/dashboard"))).not.toContain(origin);
	});

	it("redeliver all failed since …: the bulk route's function, this token's watches only, and a report", async () => {
		const old = await failed(TOKEN_A, unique("bulk-old"));
		world.vclock.advance(3_600_000);
		const cut = new Date(world.vclock.t - 60_000).toISOString().slice(0, 19);
		const recent = await failed(TOKEN_A, unique("bulk-new"));
		const theirs = await failed(TOKEN_B, unique("bulk-theirs"));
		const b = await signedIn();
		const list = await b.page("/dashboard/watches?state=failed");
		expect(list).toContain("Redeliver all failed");
		const res = await b.post("/dashboard/watches/redeliver", { form: { since: cut } });
		expect(res.status).toBe(303);
		const location = res.headers.get("location") as string;
		expect(location).toMatch(/^\/dashboard\/watches\?state=failed&done=bulk&matched=1&redelivered=1/);
		const report = text(await b.page(location));
		expect(report).toContain("1 of 1 matching failed watches redelivered");
		expect((await apiWatch(recent.id)).state).toBe("notifying");
		expect((await apiWatch(old.id)).state).toBe("failed");
		expect((await apiWatch(theirs.id, TOKEN_B)).state).toBe("failed");
		// The same again changes nothing: it is notifying already.
		const again = await b.post("/dashboard/watches/redeliver", { form: { since: cut } });
		expect(again.headers.get("location")).toContain("matched=0&redelivered=0");
		const bad = await b.post("/dashboard/watches/redeliver", { form: { since: "last tuesday" } });
		expect(bad.status).toBe(400);
		expect(bad.headers.get("content-type")).toMatch(/^text\/html/);
		expect((await apiWatch(old.id)).state).toBe("failed");
	});
});

describe("cross-site requests change nothing", () => {
	it("refuses a POST from another origin, with no origin, without or with another session's CSRF token, or not a form", async () => {
		const w = await register(TOKEN_A, unique("csrf"));
		const b = await signedIn();
		const other = await signedIn();
		const path = `/dashboard/watches/${w.id}/cancel`;
		const attempts: [string, Promise<Response>][] = [
			["cross-site origin", b.post(path, { origin: "https://evil.example" })],
			[
				"cross-site fetch metadata",
				b.post(path, { origin: "https://evil.example", headers: { "sec-fetch-site": "cross-site" } }),
			],
			["no origin", b.post(path, { origin: null })],
			["no csrf token", b.send(path, { form: {} })],
			["another session's token", b.send(path, { form: { csrf: other.csrf } })],
			["json body", b.send(path, { method: "POST", headers: { "content-type": "application/json" } })],
			["a GET", b.send(path)],
		];
		for (const [why, pending] of attempts) {
			const res = await pending;
			// 405: a GET of a form target is a method the path does not serve.
			expect([401, 403, 404, 405, 415], why).toContain(res.status);
			expect(res.headers.get("set-cookie"), why).toBeNull();
		}
		expect((await apiWatch(w.id)).state).toBe("watching");
		// The same form from the page itself does it.
		expect((await b.post(path)).status).toBe(303);
		expect((await apiWatch(w.id)).state).toBe("cancelled");
	});

	it("refuses a sign-in posted from another site (no login CSRF)", async () => {
		const res = await new Browser().send("/dashboard/sign-in", {
			form: { token: TOKEN_A },
			origin: "https://evil.example",
		});
		expect(res.status).toBe(403);
		expect(res.headers.get("set-cookie")).toBeNull();
	});

	it("refuses a form body over 8 KiB", async () => {
		const b = await signedIn();
		const res = await b.post("/dashboard/sign-out", { form: { pad: "x".repeat(9000) } });
		expect(res.status).toBe(413);
		expect(b.cookie).not.toBeNull();
	});
});

describe("user data is text", () => {
	it("metadata, asset ids and URLs with markup are escaped, and the metadata is pretty-printed JSON", async () => {
		const hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">';
		const asset = unique("x");
		// The upstream's own words, markup included, end up in the asset's last error.
		world.fakes.script(asset, {
			http: 500,
			body: JSON.stringify({ code: 500, message: "<img src=x onerror=alert('upstream')>", data: null }),
		});
		const w = await register(TOKEN_A, asset, {
			metadata: { note: hostile, "</pre><b>": "\"'&" },
			callback_url: `https://receiver.example/${asset}?q=<b>"x"</b>`,
		});
		await step(world.vclock, asset);
		const page = await (await signedIn()).page(`/dashboard/watches/${w.id}`);
		expect(page).not.toMatch(/<script|<img|<b>/i);
		expect(page).toContain("&lt;script&gt;window.pwned=1&lt;/script&gt;");
		expect(text(page)).toContain(`"note": ${JSON.stringify(hostile)}`);
		expect(text(page)).toContain("<img src=x onerror=alert('upstream')>");
	});

	it("/healthz names an invalid DASHBOARD_SESSION_SECRET, and the dashboard says it is not configured", async () => {
		const bad = { ...env, DASHBOARD_SESSION_SECRET: "short" } as Env;
		const health = await app.request("/healthz", {}, bad);
		expect(health.status).toBe(503);
		const body = await json<{ invalid_config: { name: string }[] }>(health);
		expect(body.invalid_config.map((i) => i.name)).toEqual(["DASHBOARD_SESSION_SECRET"]);
		expect(JSON.stringify(body)).not.toContain("short");
		const res = await new Browser(HTTPS, bad).send("/dashboard/sign-in");
		expect(res.status).toBe(503);
		expect(text(await res.text())).toContain("DASHBOARD_SESSION_SECRET");
	});
});
