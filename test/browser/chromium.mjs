// A real browser for the dashboard tests: Debian's Chromium (`apt-get install -y chromium`; .ci/run
// installs it when missing) driven by playwright-core, headless, in a fresh profile that is removed
// on close, with every background service that would reach the network switched off. Also a tiny
// loopback site that plays the part of another origin posting a form at the service.
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { ROOT } from "../e2e/harness.mjs";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

const ARGS = [
	"--no-sandbox",
	"--headless",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
];

/**
 * @param {{ viewport?: { width: number; height: number } }} [options]
 * @returns {Promise<import("./chromium.d.mts").Browser>}
 */
export async function launchBrowser(options = {}) {
	if (!existsSync(CHROMIUM_PATH))
		throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
	const userDataDir = await mkdtemp(join(tmpdir(), "seedance-chromium-"));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM_PATH,
		args: ARGS,
		headless: true,
		viewport: options.viewport ?? { width: 1280, height: 800 },
		colorScheme: "light",
		locale: "en-GB",
		timezoneId: "UTC",
	});
	return {
		context,
		async close() {
			await context.close();
			rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}

/**
 * Where screenshots go: docs/ when UPDATE_SCREENSHOTS is set (`npm run screenshots`), else a
 * temporary folder, so an ordinary test run leaves the work tree as it was.
 */
export async function screenshotDir() {
	if (process.env.UPDATE_SCREENSHOTS) {
		const dir = join(ROOT, "docs");
		mkdirSync(dir, { recursive: true });
		return dir;
	}
	return mkdtemp(join(tmpdir(), "seedance-screenshots-"));
}

/**
 * Serves one HTML page on 127.0.0.1, port 0: another origin (and, as `localhost`, another site).
 * @param {string} html
 * @returns {Promise<import("./chromium.d.mts").Site>}
 */
export async function startSite(html) {
	const server = createServer((_req, res) => {
		res.writeHead(200, { "content-type": "text/html; charset=utf-8", connection: "close" });
		res.end(html);
	});
	await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
	return {
		port,
		close: () =>
			new Promise((resolve) => {
				server.close(() => resolve(undefined));
				// A browser keeps idle connections open for a minute; they hold close() until they go.
				server.closeAllConnections();
			}),
	};
}
