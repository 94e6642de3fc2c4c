// The static assets the worker serves without running (wrangler.toml [assets], directory public/):
// copies the API reference's browser bundle (@scalar/api-reference's standalone build, pinned in
// package.json) to public/docs/api-reference.js, so /docs loads nothing from another origin.
// Run by wrangler before `wrangler dev` and `wrangler deploy` ([build] in wrangler.toml) and by
// the tests' global setup; copies only when the file differs, so it is cheap to run every time.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(ROOT, "package.json"));

/** Where the bundle is published inside the package (its exports do not list it). */
function scalarBundle() {
	const main = require.resolve("@scalar/api-reference");
	let dir = dirname(main);
	while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
	return join(dir, "dist", "browser", "standalone.js");
}

export const ASSETS = [{ from: scalarBundle(), to: join(ROOT, "public", "docs", "api-reference.js") }];

function same(a, b) {
	if (!existsSync(b) || statSync(a).size !== statSync(b).size) return false;
	return readFileSync(a).equals(readFileSync(b));
}

export function buildAssets() {
	for (const { from, to } of ASSETS) {
		if (same(from, to)) continue;
		mkdirSync(dirname(to), { recursive: true });
		copyFileSync(from, to);
	}
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) buildAssets();
