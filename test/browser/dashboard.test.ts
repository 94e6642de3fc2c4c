// The dashboard in a real browser (Chromium, headless) against the bundled worker under the local
// runtime, the Crun simulator and a receiver over loopback: an operator signs in with a token, sees
// that token's watches only, redelivers a delivered watch and sees its attempts grow, cancels a
// live one, opens a watch whose metadata is markup (nothing runs), and signs out. Every request the
// page makes goes to the service's own origin; forms posted from another origin or site change
// nothing. The overview's receivers panel and the "redeliver all failed since …" form are used
// too. Screenshots of the overview, a watch, recovery and the phone layout are taken on the way.
import type { ConsoleMessage, Dialog, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CrunSim, startCrunSim } from "../../sim/crun.mjs";
import { type Receiver, startReceiver } from "../../sim/receiver.mjs";
import { FAST_VARS, localSecrets, type Runtime, startRuntime } from "../e2e/harness.mjs";
import { type Browser, launchBrowser, type Site, screenshotDir, startSite } from "./chromium.mjs";

const OPERATOR = "tok-browser-acme-7c1e9f";
const OTHER = "tok-browser-other-3b8d2a";
const secrets = localSecrets({ tokens: [`acme:${OPERATOR}`, OTHER] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const HOSTILE = {
	note: "<script>window.__pwned = 'script'; alert('script')</script>",
	preview: `<img src=x onerror="window.__pwned = 'img'; alert('img')">`,
	"<svg onload=alert('key')>": "</pre><b>bold?</b>",
};

const UPSTREAM_SAYS = `<img src=x onerror="window.__pwned = 'upstream'; alert('upstream')">`;

type Watch = { id: string; state: string; delivery: { attempts: number } | null };

let crun: CrunSim;
let rx: Receiver;
let rt: Runtime;
let browser: Browser;
let page: Page;
let shots: string;
const requests: string[] = [];
const dialogs: string[] = [];
const cspConsole: string[] = [];
const ids = {} as Record<"delivered" | "watching" | "failed" | "hostile" | "theirs", string>;
const started = Date.now();

async function register(assetId: string, path: string, token: string, extra: Record<string, unknown> = {}) {
	const res = await rt.fetch("/v1/watches", {
		token,
		json: { asset_id: assetId, callback_url: `${rx.url}${path}`, ...extra },
	});
	expect(res.status).toBe(201);
	return ((await res.json()) as Watch).id;
}

async function apiWatch(id: string, token = OPERATOR): Promise<Watch> {
	const res = await rt.fetch(`/v1/watches/${id}`, { token });
	expect(res.status).toBe(200);
	return (await res.json()) as Watch;
}

async function until<T>(
	what: string,
	read: () => Promise<T>,
	ok: (v: T) => boolean,
	ms = 15_000,
): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		const v = await read();
		if (ok(v)) return v;
		if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
		await sleep(150);
	}
}

/** The text of the first element the locator finds, once it is there. */
async function textOf(locator: Locator): Promise<string> {
	await locator.first().waitFor();
	return (await locator.first().textContent()) ?? "";
}

/** Securitypolicyviolation events the page saw (recorded by an init script, which CSP does not govern). */
const violations = () => page.evaluate("window.__csp") as Promise<string[]>;
// (Page code is given as strings: this project type-checks against the Workers types, not the DOM's.)
const pwned = () => page.evaluate("window.__pwned") as Promise<string | undefined>;
const fitsWidth = () => page.evaluate("document.documentElement.scrollWidth <= window.innerWidth");

beforeAll(async () => {
	[crun, rx] = await Promise.all([
		startCrunSim({ apiKey: secrets.CRUN_API_KEY, defaultProcessingMs: 300 }),
		startReceiver({ secret: secrets.WEBHOOK_SECRET }),
	]);
	rx.setBehaviour("/hooks/down", 503);
	rt = await startRuntime({ vars: { ...FAST_VARS, CRUN_API_BASE: crun.url }, secrets, token: OPERATOR });

	crun.script("intro-video-0142", { processingMs: 300, name: "intro.mp4", assetType: "Video" });
	crun.script("poster-still-0143", { processingMs: 600_000, name: "poster.png", assetType: "Image" });
	crun.script("voiceover-0144", { processingMs: 300, name: "voiceover.wav", assetType: "Audio" });
	// The upstream's own words, markup included, become the asset's last error.
	crun.script("hostile-meta-0145", {
		processingMs: 600_000,
		faults: Array.from({ length: 200 }, () => ({ status: 500, message: UPSTREAM_SAYS })),
	});
	crun.script("other-client-0146", { processingMs: 600_000 });
	ids.delivered = await register("intro-video-0142", "/hooks/ok", OPERATOR, { metadata: { order: 42 } });
	ids.watching = await register("poster-still-0143", "/hooks/ok", OPERATOR);
	ids.failed = await register("voiceover-0144", "/hooks/down", OPERATOR, {
		callback_headers: { "x-receiver-auth": "rx-secret-value" },
	});
	ids.hostile = await register("hostile-meta-0145", "/hooks/ok", OPERATOR, { metadata: HOSTILE });
	ids.theirs = await register("other-client-0146", "/hooks/theirs", OTHER, { metadata: { owner: "other" } });
	await until(
		"delivered",
		() => apiWatch(ids.delivered),
		(w) => w.state === "delivered",
	);
	// Four attempts against a 503 (1 s, 1 s, 2 s apart), then failed.
	await until(
		"failed",
		() => apiWatch(ids.failed),
		(w) => w.state === "failed",
	);

	[browser, shots] = await Promise.all([launchBrowser(), screenshotDir()]);
	await browser.context.addInitScript(`
		window.__csp = [];
		document.addEventListener("securitypolicyviolation", (e) =>
			window.__csp.push(e.violatedDirective + " " + e.blockedURI));
	`);
	page = await browser.context.newPage();
	page.on("request", (r) => requests.push(r.url()));
	page.on("dialog", (d: Dialog) => {
		dialogs.push(d.message());
		void d.dismiss();
	});
	page.on("console", (m: ConsoleMessage) => {
		if (/content security policy/i.test(m.text())) cspConsole.push(m.text());
	});
}, 120_000);

afterAll(async () => {
	await browser?.close();
	await rt?.dispose();
	await Promise.all([crun?.close(), rx?.close()]);
	console.log(`browser test: ${((Date.now() - started) / 1000).toFixed(1)} s, screenshots in ${shots}`);
});

describe("the operator's page in a browser", () => {
	it("signs in with a token on a password field; the session cookie is HttpOnly and SameSite=Strict", async () => {
		await page.goto(`${rt.url}/dashboard`);
		expect(new URL(page.url()).pathname).toBe("/dashboard/sign-in");
		const field = page.getByLabel("API token");
		expect(await field.getAttribute("type")).toBe("password");

		await field.fill("not-a-token");
		await page.getByRole("button", { name: "Sign in" }).click();
		expect(await textOf(page.getByRole("alert"))).toContain("That token is not accepted.");
		expect(await browser.context.cookies(rt.url)).toEqual([]);

		await page.getByLabel("API token").fill(OPERATOR);
		await page.getByRole("button", { name: "Sign in" }).click();
		await page.getByRole("heading", { name: "Overview" }).waitFor();
		expect(new URL(page.url()).pathname).toBe("/dashboard");
		expect(await textOf(page.locator("header"))).toContain("client acme");

		const cookies = await browser.context.cookies(rt.url);
		expect(cookies.map((c) => c.name)).toEqual(["dashboard_session"]);
		expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/" });
		expect(cookies[0]?.value).not.toContain(OPERATOR);
		expect(await page.evaluate("document.cookie")).toBe("");
	});

	it("shows the overview: this token's watches by state, its assets by status and the upstream's side, styled by the worker's own CSS", async () => {
		const byState = page.locator("section", { hasText: "Watches by state" });
		const count = (state: string) => byState.locator("tr", { hasText: state }).locator("td.num");
		expect(await count("delivered").textContent()).toBe("1");
		expect(await count("failed").textContent()).toBe("1");
		expect(await count("watching").textContent()).toBe("2");
		expect(await byState.locator("tr", { hasText: "total" }).locator("td.num").textContent()).toBe("4");
		expect(await textOf(page.locator("section", { hasText: "Assets by upstream status" }))).toContain(
			"Active",
		);
		// The upstream's side, the whole deployment's: the budget, errors by code, the model per type.
		const upstream = page.locator("section", { hasText: "Upstream (whole deployment)" });
		expect(await textOf(upstream)).toMatch(/budget [\d.]+ of 20 calls\/s/);
		const errors = upstream.locator("tr", { hasText: "500" }).locator("td.num");
		expect(Number(await errors.first().textContent())).toBeGreaterThan(0);
		for (const type of ["Video", "Audio"])
			expect(await upstream.locator("tr", { hasText: type }).locator("td.num").first().textContent()).toBe(
				"1",
			);
		// The stylesheet was allowed and applied: the body has the sheet's background, not the default white.
		expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe("rgb(246, 247, 249)");
		await page.screenshot({ path: `${shots}/dashboard-overview.png`, fullPage: true });
	});

	it("lists this token's watches only; another token's watch is not listed and its page is not reachable", async () => {
		await page.getByRole("link", { name: "Watches", exact: true }).click();
		await page.getByRole("heading", { name: "Watches" }).waitFor();
		const listed = await page.locator("td.mono a").allTextContents();
		expect(listed.sort()).toEqual([ids.delivered, ids.watching, ids.failed, ids.hostile].sort());
		expect(await page.content()).not.toContain(ids.theirs);

		await page.getByLabel("State").selectOption("failed");
		await page.getByRole("button", { name: "Filter" }).click();
		expect(await page.locator("td.mono a").allTextContents()).toEqual([ids.failed]);

		const res = await page.goto(`${rt.url}/dashboard/watches/${ids.theirs}`);
		expect(res?.status()).toBe(404);
		const body = await page.locator("main").textContent();
		expect(body).toContain("no such watch");
		expect(body).not.toContain("other-client-0146");
		expect(body).not.toContain("/hooks/theirs");
	});

	it("opens a delivered watch, redelivers it and sees the attempt count grow", async () => {
		await page.goto(`${rt.url}/dashboard/watches?state=delivered`);
		await page.getByRole("link", { name: ids.delivered }).click();
		await page.getByRole("heading", { name: ids.delivered }).waitFor();
		expect(await page.getByTestId("attempts").textContent()).toBe("1");
		expect(await textOf(page.locator("pre"))).toContain('"order": 42');
		const before = rx.deliveries().filter((d) => d.path === "/hooks/ok" && d.json).length;

		await page.getByRole("button", { name: "Redeliver" }).click();
		expect(await textOf(page.getByRole("status"))).toContain("Redelivery scheduled");
		await until(
			"attempts on the page",
			async () => {
				await page.reload();
				return page.getByTestId("attempts").textContent();
			},
			(t) => t === "2",
		);
		expect((await apiWatch(ids.delivered)).delivery?.attempts).toBe(2);
		expect(rx.deliveries().filter((d) => d.path === "/hooks/ok").length).toBeGreaterThan(before);
		expect(await page.locator("tbody tr").count()).toBe(2);
		await page.screenshot({ path: `${shots}/dashboard-watch.png`, fullPage: true });
	});

	it("cancels a watching one, after a confirmation", async () => {
		await page.goto(`${rt.url}/dashboard/watches/${ids.watching}`);
		const confirm = page.getByRole("button", { name: "Yes, cancel it" });
		expect(await confirm.isVisible()).toBe(false);
		await page.getByText("Cancel this watch…").click();
		await confirm.click();
		expect(await textOf(page.getByRole("status"))).toContain("The watch is cancelled");
		expect(await textOf(page.locator("dl.fields .badge").first())).toBe("cancelled");
		expect((await apiWatch(ids.watching)).state).toBe("cancelled");
	});

	it("shows a watch whose metadata is markup as text, and nothing runs", async () => {
		await page.goto(`${rt.url}/dashboard/watches/${ids.hostile}`);
		const pre = await page.locator("pre").textContent();
		expect(JSON.parse(pre ?? "")).toEqual(HOSTILE);
		const asset = page.locator("section", { hasText: "last upstream error" });
		expect(await textOf(asset)).toContain(UPSTREAM_SAYS);
		expect(await page.locator("main img, main script, main svg, main b").count()).toBe(0);
		await sleep(300);
		expect(await pwned()).toBeUndefined();
		expect(dialogs).toEqual([]);
		expect(await violations()).toEqual([]);

		// The control: markup that did get into the page would still be stopped by the CSP, and the
		// listeners above would have seen it.
		await page.evaluate(`(() => {
			const img = document.createElement("img");
			img.setAttribute("onerror", "window.__pwned = 'control'");
			img.src = "/dashboard/static/missing.png";
			document.body.append(img);
		})()`);
		await until("a violation", violations, (v) => v.length > 0, 5000);
		expect((await violations()).join()).toMatch(/script-src/);
		expect(await pwned()).toBeUndefined();
		expect(dialogs).toEqual([]);
	});

	it("fits a phone's width", async () => {
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto(`${rt.url}/dashboard/watches/${ids.failed}`);
		expect(await textOf(page.locator("main"))).toContain("503");
		expect(await fitsWidth()).toBe(true);
		await page.screenshot({ path: `${shots}/dashboard-phone.png`, fullPage: true });
		await page.goto(`${rt.url}/dashboard`);
		expect(await fitsWidth()).toBe(true);
		await page.setViewportSize({ width: 1280, height: 800 });
	});

	it("shows this token's receiver origins, and redelivers all failed since … from the watches page", async () => {
		await page.goto(`${rt.url}/dashboard`);
		const panel = page.locator("section", { hasText: "Receivers" });
		const row = panel.locator("tr", { hasText: new URL(rx.url).origin });
		expect(await textOf(row.locator(".badge"))).toMatch(/^(healthy|failing)$/);
		expect(await textOf(panel)).not.toContain("/hooks/theirs");

		// The receiver is fixed; the operator sends the failed watch again from the list.
		rx.setBehaviour("/hooks/down", 200);
		await page.goto(`${rt.url}/dashboard/watches?state=failed`);
		expect(await page.locator("td.mono a").allTextContents()).toEqual([ids.failed]);
		await page.getByLabel("Failed since").fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
		await page.getByRole("button", { name: "Redeliver all failed" }).click();
		expect(await textOf(page.getByRole("status"))).toContain("1 of 1 matching failed watches redelivered");
		await page.screenshot({ path: `${shots}/dashboard-recovery.png`, fullPage: true });
		const done = await until(
			"redelivered",
			() => apiWatch(ids.failed),
			(w) => w.state === "delivered",
		);
		expect(done.delivery?.attempts).toBe(5);
		const sent = rx.deliveries().filter((d) => d.path === "/hooks/down");
		expect(new Set(sent.map((d) => d.webhookId)).size).toBe(1);
		expect(sent.at(-1)?.status).toBe(200);
	});

	it("made every request to the service's own origin", () => {
		expect(requests.length).toBeGreaterThan(10);
		expect(requests.filter((u) => new URL(u).origin !== rt.url)).toEqual([]);
		expect(requests.some((u) => /\/dashboard\/static\/dashboard\.[0-9a-f]{8}\.css$/.test(u))).toBe(true);
		expect(cspConsole.filter((m) => !m.includes("onerror") && !m.includes("inline event handler"))).toEqual(
			[],
		);
	});

	describe("a form posted from elsewhere changes nothing", () => {
		let site: Site;
		let target: string;
		beforeAll(async () => {
			target = await register("attack-target-0147", "/hooks/ok", OPERATOR);
			crun.script("attack-target-0147", { processingMs: 600_000 });
			site = await startSite(`<!doctype html><title>elsewhere</title>
				<form method="post" action="${rt.url}/dashboard/watches/${target}/cancel">
				<input type="hidden" name="csrf" value="guessed"><button>Win a prize</button></form>`);
		});
		afterAll(() => site?.close());

		for (const [what, host, cookieSent] of [
			[
				"from another origin on the same site: the cookie goes along, the origin check refuses",
				"127.0.0.1",
				true,
			],
			[
				"from another site: SameSite=Strict keeps the cookie back, and the origin check refuses",
				"localhost",
				false,
			],
		] as const) {
			it(what, async () => {
				const attacker = await browser.context.newPage();
				await attacker.goto(`http://${host}:${site.port}/`);
				const [res] = await Promise.all([
					attacker.waitForResponse((r) => r.url().endsWith("/cancel")),
					attacker.getByRole("button", { name: "Win a prize" }).click(),
				]);
				const sent = await res.request().allHeaders();
				expect(sent.origin).toBe(`http://${host}:${site.port}`);
				expect("cookie" in sent).toBe(cookieSent);
				expect(res.status()).toBe(403);
				expect(await attacker.locator("main").textContent()).toContain("nothing was changed");
				await attacker.close();
				expect((await apiWatch(target)).state).toBe("watching");
			});
		}
	});

	it("signs out; the pages are out of reach again", async () => {
		await page.goto(`${rt.url}/dashboard`);
		await page.getByRole("button", { name: "Sign out" }).click();
		await page.getByRole("heading", { name: "Sign in" }).waitFor();
		expect(await browser.context.cookies(rt.url)).toEqual([]);
		await page.goto(`${rt.url}/dashboard/watches/${ids.delivered}`);
		expect(new URL(page.url()).pathname).toBe("/dashboard/sign-in");
		expect(await page.locator("main").textContent()).not.toMatch(/intro-video-0142|Delivery|attempts/);
	});
});
