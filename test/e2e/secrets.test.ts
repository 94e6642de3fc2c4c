// `npm run secrets` as an operator runs it before a first deploy: the printed values are accepted
// by the service's own settings parser and by the reference Standard Webhooks library, tokens are
// distinct and strong, and `--out` writes a file that wrangler itself reads as a secrets file
// (checked with `wrangler deploy --dry-run --secrets-file`, which shares `secret bulk`'s parser),
// with mode 0600, never over an existing file, under a name git ignores.
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/core/config";
import { QUIET_ENV, ROOT } from "./harness.mjs";
import { fileMode, NODE, type ProcessResult, readText, removeDir, runProcess, tempDir } from "./machine.mjs";

const SCRIPT = `${ROOT}/scripts/secrets.mjs`;
const WRANGLER = `${ROOT}/node_modules/wrangler/bin/wrangler.js`;
const dir = tempDir("seedance-secrets-");

afterAll(() => removeDir(dir));

const runSecrets = (...args: string[]): Promise<ProcessResult> =>
	runProcess(NODE, [SCRIPT, ...args], { cwd: dir });

/** base64 or base64url to its byte count. */
const bytesOf = (b64: string) => atob(b64.replace(/-/g, "+").replace(/_/g, "/")).length;

/** The KEY=value lines the way .dev.vars is read: comments skipped, single quotes taken off. */
function dotenv(text: string): Record<string, string> {
	const out: Record<string, string> = {};
	for (const line of text.split("\n")) {
		const m = line.match(/^([A-Z_]+)=(.*)$/);
		if (m) out[m[1] as string] = (m[2] as string).replace(/^'(.*)'$/, "$1");
	}
	return out;
}

function keyBytes(secret: string): number {
	expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
	return bytesOf(secret.slice("whsec_".length));
}

/** Signs and verifies a message with the reference library, as the service and a receiver would. */
function roundTrips(secret: string): boolean {
	const wh = new Webhook(secret);
	const payload = JSON.stringify({ type: "asset.active", data: { asset_id: "a-1" } });
	const id = "msg_secrets_test";
	const at = new Date();
	const headers = {
		"webhook-id": id,
		"webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
		"webhook-signature": wh.sign(id, at, payload),
	};
	wh.verify(payload, headers);
	// And another secret does not verify it.
	expect(() => new Webhook(`whsec_${btoa("x".repeat(32))}`).verify(payload, headers)).toThrow();
	return true;
}

/** The bindings a deployment has beside its secrets (the rate limiter's presence is checked too). */
const BINDINGS = { RATE_LIMITER: { limit: async () => ({ success: true }) } };

const tokensOf = (apiTokens: string) => apiTokens.split(",").map((e) => e.slice(e.indexOf(":") + 1));

describe("npm run secrets (printed)", () => {
	it("prints every secret, with CRUN_API_KEY only as a commented placeholder", async () => {
		const { code, stdout } = await runSecrets("--clients", "app,ops");
		expect(code).toBe(0);
		const vars = dotenv(stdout);
		expect(Object.keys(vars).sort()).toEqual(["API_TOKENS", "CLIENT_WEBHOOK_SECRETS", "WEBHOOK_SECRET"]);
		expect(stdout).toMatch(/^# CRUN_API_KEY=<your Crun API key>$/m);
		expect(stdout).toContain("wrangler secret put CRUN_API_KEY");

		// What the service reads: only the operator's own key is missing, nothing is invalid.
		const config = parseConfig({ ...BINDINGS, ...vars });
		expect(config.missing).toEqual(["CRUN_API_KEY"]);
		expect(config.invalid).toEqual([]);
		expect(config.API_TOKENS).toHaveLength(2);
	});

	it("makes client:token entries with distinct, strong bearer tokens", async () => {
		const runs = await Promise.all([runSecrets("--clients", "app,ops"), runSecrets("--clients", "app,ops")]);
		const entries = runs.flatMap((r) => dotenv(r.stdout).API_TOKENS?.split(",") ?? []);
		expect(entries.map((e) => e.split(":")[0])).toEqual(["app", "ops", "app", "ops"]);
		const tokens = tokensOf(entries.join(","));
		expect(new Set(tokens).size).toBe(4);
		for (const t of tokens) {
			// RFC 6750 b64token, nothing API_TOKENS uses as a separator, and 32 random bytes behind it.
			expect(t).toMatch(/^saw_[A-Za-z0-9_-]{43}$/);
			expect(bytesOf(t.slice(4))).toBe(32);
		}
	});

	it("makes Standard Webhooks secrets of 32 bytes that verify with standardwebhooks, one per client", async () => {
		const vars = dotenv((await runSecrets("--clients", "app,ops")).stdout);
		const shared = vars.WEBHOOK_SECRET as string;
		expect(keyBytes(shared)).toBe(32);
		expect(roundTrips(shared)).toBe(true);
		const perClient = JSON.parse(vars.CLIENT_WEBHOOK_SECRETS as string) as Record<string, string>;
		expect(Object.keys(perClient)).toEqual(["app", "ops"]);
		for (const s of Object.values(perClient)) {
			expect(keyBytes(s)).toBe(32);
			expect(roundTrips(s)).toBe(true);
		}
		expect(new Set([shared, ...Object.values(perClient)]).size).toBe(3);
	});

	it("refuses client names API_TOKENS could not carry", async () => {
		for (const bad of ["a b", "a:b", "", "x,x"]) {
			const { code, stderr, stdout } = await runSecrets("--clients", bad);
			expect(code, bad).toBe(2);
			expect(stderr).toMatch(/^secrets: /);
			expect(stdout).toBe("");
		}
	});
});

describe("npm run secrets -- --out FILE", () => {
	const file = `${dir}/prod.secrets.json`;

	it("writes a 0600 JSON file of strings and prints no secret", async () => {
		const { code, stdout } = await runSecrets("--clients", "app", "--out", file);
		expect(code).toBe(0);
		expect(fileMode(file)).toBe(0o600);
		const content = JSON.parse(readText(file)) as Record<string, unknown>;
		expect(Object.keys(content).sort()).toEqual(["API_TOKENS", "CLIENT_WEBHOOK_SECRETS", "WEBHOOK_SECRET"]);
		for (const v of Object.values(content)) expect(typeof v).toBe("string");
		for (const v of [...tokensOf(content.API_TOKENS as string), content.WEBHOOK_SECRET as string])
			expect(stdout).not.toContain(v);
		expect(stdout).toContain(`wrangler secret bulk ${file}`);
		expect(parseConfig({ ...BINDINGS, ...content, CRUN_API_KEY: "k" }).invalid).toEqual([]);
	});

	it("refuses to overwrite an existing file, and leaves it as it was", async () => {
		const before = readText(file);
		const again = await runSecrets("--out", file);
		expect(again.code).toBe(1);
		expect(again.stderr).toContain("refusing to overwrite");
		expect(readText(file)).toBe(before);
	});

	it("is read by wrangler as a secrets file (deploy --dry-run --secrets-file, secret bulk's parser)", async () => {
		const { code, stdout, stderr } = await runProcess(
			NODE,
			[WRANGLER, "deploy", "--dry-run", "--env=", "--outdir", `${dir}/bundle`, "--secrets-file", file],
			{ cwd: ROOT, env: QUIET_ENV },
		);
		expect(code, stderr).toBe(0);
		for (const name of ["API_TOKENS", "WEBHOOK_SECRET", "CLIENT_WEBHOOK_SECRETS"])
			expect(stdout).toMatch(new RegExp(`env\\.${name} \\("\\(hidden\\)"\\)`));
		const content = JSON.parse(readText(file)) as Record<string, string>;
		for (const v of Object.values(content)) expect(stdout + stderr).not.toContain(v);
	});

	it("uses names git ignores", async () => {
		const names = [".secrets.json", "prod.secrets.json", "staging.secrets.json"];
		const { stdout } = await runProcess("git", ["check-ignore", ...names], { cwd: ROOT });
		expect(stdout.trim().split("\n")).toEqual(names);
	});
});
