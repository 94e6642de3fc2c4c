// Reads the TypeScript sources under src/ for the architecture test (Node's fs, which the test's
// own TypeScript, typed for Workers, does not see).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

/** @returns {{ path: string, text: string }[]} every .ts/.tsx file under src/ but .d.ts, path relative to src/ */
export function sourceFiles(dir = SRC) {
	return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const path = join(dir, e.name);
		if (e.isDirectory()) return sourceFiles(path);
		if (!/\.tsx?$/.test(e.name) || e.name.endsWith(".d.ts")) return [];
		return [{ path: relative(SRC, path), text: readFileSync(path, "utf8") }];
	});
}
