// The OpenAPI document as the running service serves it is valid OpenAPI 3.1 (checked with
// @seriousme/openapi-schema-validator, which needs Node) that Redocly's linter, with its
// recommended rules, finds no error in, and /docs serves the reference page that loads it. Route coverage and examples are checked in test/api/openapi.test.ts.
import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, expect, it } from "vitest";
import { localSecrets, ROOT, type Runtime, startRuntime } from "./harness.mjs";
import { NODE, removeDir, runProcess, tempDir, writeText } from "./machine.mjs";

let rt: Runtime;

beforeAll(async () => {
	rt = await startRuntime({ secrets: { ...localSecrets() } });
});
afterAll(async () => {
	await rt?.dispose();
});

it("serves a valid OpenAPI 3.1 document, with webhooks, without auth", async () => {
	const res = await rt.fetch("/openapi.json", { token: null });
	expect(res.status).toBe(200);
	const doc = (await res.json()) as Record<string, unknown>;
	const validator = new Validator();
	const result = await validator.validate(doc);
	expect(result.errors ?? []).toEqual([]);
	expect(result.valid).toBe(true);
	expect(validator.version).toBe("3.1");
	expect(Object.keys(doc.webhooks as object).sort()).toEqual([
		"asset.active",
		"asset.failed",
		"watch.expired",
	]);
	// Every $ref resolves.
	expect(() => validator.resolveRefs()).not.toThrow();
});

it("passes redocly lint with the recommended rules: no error", async () => {
	const doc = await (await rt.fetch("/openapi.json", { token: null })).text();
	const dir = tempDir("seedance-redocly-");
	try {
		writeText(`${dir}/openapi.json`, doc);
		const { code, stdout, stderr } = await runProcess(
			NODE,
			[
				`${ROOT}/node_modules/@redocly/cli/bin/cli.js`,
				"lint",
				"openapi.json",
				"--extends=recommended",
				"--format=json",
			],
			// Offline and quiet: no telemetry, no update check.
			{ cwd: dir, env: { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" } },
		);
		const report = JSON.parse(stdout) as {
			totals: { errors: number; warnings: number };
			problems: { severity: string; ruleId: string; location: { pointer: string }[] }[];
		};
		const errors = report.problems
			.filter((p) => p.severity === "error")
			.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}`);
		expect(errors, stderr).toEqual([]);
		expect(report.totals.errors).toBe(0);
		expect(code).toBe(0);
	} finally {
		removeDir(dir);
	}
});

it("serves the reference page at /docs and its scripts from this origin, as JavaScript", async () => {
	const res = await rt.fetch("/docs", { token: null });
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toMatch(/^text\/html/);
	expect(res.headers.get("x-request-id")).toBeTruthy();
	expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
	const html = await res.text();
	expect(html).toContain('<a href="/openapi.json">');
	const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1] as string);
	expect(scripts).toContain("/docs/api-reference.js");
	for (const src of scripts) {
		const js = await rt.fetch(src, { token: null });
		expect(js.status, src).toBe(200);
		expect(js.headers.get("content-type"), src).toMatch(/^(text|application)\/javascript\b/);
		await js.arrayBuffer();
	}
});
