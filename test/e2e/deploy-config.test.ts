// wrangler.toml as a deploy sees it, offline (`wrangler deploy --dry-run`): production and the
// staging environment bundle without a warning, and staging has every binding production has —
// Durable Objects, vars and the static assets — since environments do not inherit bindings.
import { afterAll, describe, expect, it } from "vitest";
import { QUIET_ENV, ROOT } from "./harness.mjs";
import { NODE, removeDir, runProcess, tempDir } from "./machine.mjs";

const WRANGLER = `${ROOT}/node_modules/wrangler/bin/wrangler.js`;
const dir = tempDir("seedance-deploy-");
afterAll(() => removeDir(dir));

/** The binding names a dry run lists (`env.NAME (…)  Kind`), with the whole output. */
async function dryRun(...args: string[]): Promise<{ bindings: Map<string, string>; output: string }> {
	const { code, stdout, stderr } = await runProcess(
		NODE,
		[
			WRANGLER,
			"deploy",
			"--dry-run",
			"--outdir",
			`${dir}/${args.join("-").replace(/\W/g, "") || "production"}`,
			...args,
		],
		{ cwd: ROOT, env: QUIET_ENV },
	);
	const output = stdout + stderr;
	expect(code, output).toBe(0);
	const bindings = new Map<string, string>();
	for (const m of output.matchAll(/^env\.([A-Z_]+)\b.*?\s{2,}(\S.*?)\s*$/gm))
		bindings.set(m[1] as string, m[2] as string);
	return { bindings, output };
}

describe("wrangler deploy --dry-run", () => {
	it("production and staging bundle without a warning; staging has every binding production has", async () => {
		// --env= names the top level; without it wrangler warns that an environment was not chosen.
		const [production, staging] = await Promise.all([dryRun("--env="), dryRun("--env", "staging")]);
		for (const run of [production, staging]) {
			expect(run.output).not.toMatch(/WARNING|ERROR/);
			expect(run.output).toContain("--dry-run: exiting now.");
		}
		for (const name of ["ASSET_WATCHER", "WATCH_INDEX"])
			expect(production.bindings.get(name)).toBe("Durable Object");
		expect(production.bindings.get("ASSETS")).toBe("Assets");
		expect(production.bindings.size).toBeGreaterThan(10);
		expect([...staging.bindings]).toEqual([...production.bindings]);
	});
});
