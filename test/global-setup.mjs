// vitest global setup: what `npm run build` makes, made here too when missing or older than its
// sources, so that `npx vitest` works on a fresh clone: the static assets the worker serves
// (scripts/build-assets.mjs, as wrangler's [build] does for dev and deploy) and the client
// package's dist/, which the end-to-end tests import as other projects do.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { buildAssets } from "../scripts/build-assets.mjs";
import { ROOT } from "./e2e/harness.mjs";

function newest(dir) {
	let t = 0;
	for (const e of readdirSync(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
	}
	return t;
}

function buildClient() {
	const client = join(ROOT, "client");
	const built = join(client, "dist", "index.js");
	const sources = Math.max(newest(join(client, "src")), statSync(join(client, "tsconfig.json")).mtimeMs);
	if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
	execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", client], {
		stdio: "inherit",
	});
}

export default function setup() {
	buildAssets();
	buildClient();
}
