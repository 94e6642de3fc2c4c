// The client as another project gets it: `npm pack` of client/ (its prepack builds dist/), installed
// from the tarball into an empty project offline (its one dependency, standardwebhooks, comes from
// the npm cache that this repository's `npm ci` filled, pinned by a lockfile made from ours), then
// imported and used by plain `node` with no TypeScript loader, and type-checked as a TypeScript
// consumer would. Also: the types in client/src/openapi.ts are what openapi-typescript makes of
// client/openapi.json today (test/api/client-document.test.ts ties that file to the service).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DOCUMENT_FILE, TYPES_FILE, typesOf } from "../../scripts/client-types.mjs";
import { ROOT } from "./harness.mjs";
import { makeDir, NODE, readText, removeDir, runProcess, tempDir, writeText } from "./machine.mjs";

const NAME = "seedance-asset-watcher-client";
const dir = tempDir("seedance-client-package-");
const app = `${dir}/app`;
/** npm, offline and quiet: nothing may reach a registry. */
const NPM_ENV = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

type LockEntry = { version: string; integrity?: string; dependencies?: Record<string, string> } & Record<
	string,
	unknown
>;

let tarball = "";

/** The lockfile entries of `names` and everything they depend on, taken from this repository's. */
function lockEntries(names: string[]): Record<string, LockEntry> {
	const ours = (JSON.parse(readText(`${ROOT}/package-lock.json`)) as { packages: Record<string, LockEntry> })
		.packages;
	const out: Record<string, LockEntry> = {};
	const todo = [...names];
	while (todo.length > 0) {
		const key = `node_modules/${todo.pop()}`;
		if (out[key]) continue;
		const entry = ours[key];
		if (!entry) throw new Error(`${key} is not in package-lock.json`);
		const { dev: _dev, ...kept } = entry;
		out[key] = kept as LockEntry;
		todo.push(...Object.keys(entry.dependencies ?? {}));
	}
	return out;
}

beforeAll(async () => {
	const packed = await runProcess(
		"npm",
		["pack", "--workspace", "client", "--pack-destination", dir, "--json"],
		{
			cwd: ROOT,
			env: NPM_ENV,
		},
	);
	expect(packed.code, packed.stderr).toBe(0);
	const [info] = JSON.parse(packed.stdout) as {
		filename: string;
		integrity: string;
		files: { path: string }[];
		dependencies?: unknown;
	}[];
	if (!info) throw new Error("npm pack printed nothing");
	tarball = info.filename;
	expect(info.files.map((f) => f.path).sort()).toEqual([
		"README.md",
		"dist/index.d.ts",
		"dist/index.js",
		"dist/openapi.d.ts",
		"dist/openapi.js",
		"openapi.json",
		"package.json",
	]);

	const client = JSON.parse(readText(`${ROOT}/client/package.json`)) as {
		version: string;
		dependencies: Record<string, string>;
	};
	makeDir(app);
	const spec = `file:../${tarball}`;
	writeText(
		`${app}/package.json`,
		JSON.stringify(
			{ name: "consumer", private: true, type: "module", dependencies: { [NAME]: spec } },
			null,
			2,
		),
	);
	writeText(
		`${app}/package-lock.json`,
		JSON.stringify(
			{
				name: "consumer",
				lockfileVersion: 3,
				requires: true,
				packages: {
					"": { name: "consumer", dependencies: { [NAME]: spec } },
					[`node_modules/${NAME}`]: {
						version: client.version,
						resolved: spec,
						integrity: info.integrity,
						dependencies: client.dependencies,
					},
					...lockEntries(Object.keys(client.dependencies)),
				},
			},
			null,
			2,
		),
	);
	const installed = await runProcess("npm", ["ci", "--offline", "--ignore-scripts"], {
		cwd: app,
		env: NPM_ENV,
	});
	expect(installed.code, installed.stderr).toBe(0);
});

afterAll(() => removeDir(dir));

const CONSUMER_MJS = `
import { CallbackVerificationError, WatcherApiError, WatcherClient, verifyCallbackPayload } from "${NAME}";
import doc from "${NAME}/openapi.json" with { type: "json" };
import { Webhook } from "standardwebhooks";

const seen = [];
const json = (status, body, headers = {}) =>
	new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
const client = new WatcherClient({
	baseUrl: "https://watcher.example/",
	token: "tok-1",
	async fetch(request) {
		seen.push({ method: request.method, url: request.url, auth: request.headers.get("authorization"), body: await request.text() });
		if (request.method === "POST") return json(201, { id: "w_1", asset_id: "a-1", state: "watching" });
		return json(404, { error: { code: "watch_not_found", message: "no such watch" } }, { "x-request-id": "rid-9" });
	},
});
const { watch, created } = await client.register({ asset_id: "a-1", callback_url: "https://example.com/hook" });
let apiError;
try {
	await client.get("w_missing");
} catch (err) {
	apiError = err;
}

const secret = "whsec_" + Buffer.from("k".repeat(32)).toString("base64");
const body = JSON.stringify({ type: "asset.active", timestamp: "2026-11-28T17:00:00.000Z", data: { asset_id: "a-1" } });
const at = new Date();
const headers = { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(at.getTime() / 1000)), "webhook-signature": new Webhook(secret).sign("msg_1", at, body) };
const event = verifyCallbackPayload(body, headers, secret);
let forged;
try {
	verifyCallbackPayload(body, { ...headers, "webhook-signature": "v1,AAAA" }, secret);
} catch (err) {
	forged = err;
}
console.log(JSON.stringify({
	created,
	watchId: watch.id,
	seen,
	apiError: { isApiError: apiError instanceof WatcherApiError, name: apiError.name, status: apiError.status, code: apiError.code, requestId: apiError.requestId },
	event: event.type,
	forged: { isVerificationError: forged instanceof CallbackVerificationError, reason: forged.reason },
	documentTitle: doc.info.title,
}));
`;

const CONSUMER_TS = `
import { type CallbackEvent, type Watch, type WatchState, WatcherClient } from "${NAME}";

const client = new WatcherClient({ baseUrl: "https://watcher.example", token: "tok-1" });

export async function stateOf(assetId: string): Promise<WatchState> {
	const { watch }: { watch: Watch } = await client.register({ asset_id: assetId, callback_url: "https://example.com/h" });
	return watch.state;
}

export function onEvent(event: CallbackEvent): string {
	return event.type === "asset.failed" ? (event.data.upstream_message ?? "") : event.data.asset_id;
}

// @ts-expect-error asset_id is required
export const missing = () => client.register({ callback_url: "https://example.com/h" });
// @ts-expect-error not an event type
export const unknown: CallbackEvent["type"] = "asset.deleted";
`;

describe("the client package, installed in another project", () => {
	it("imports and works with plain node, no TypeScript loader", async () => {
		writeText(`${app}/consumer.mjs`, CONSUMER_MJS);
		const { code, stdout, stderr } = await runProcess(NODE, ["consumer.mjs"], { cwd: app });
		expect(code, stderr).toBe(0);
		const out = JSON.parse(stdout);
		expect(out).toEqual({
			created: true,
			watchId: "w_1",
			seen: [
				{
					method: "POST",
					url: "https://watcher.example/v1/watches",
					auth: "Bearer tok-1",
					body: JSON.stringify({ asset_id: "a-1", callback_url: "https://example.com/hook" }),
				},
				{
					method: "GET",
					url: "https://watcher.example/v1/watches/w_missing",
					auth: "Bearer tok-1",
					body: "",
				},
			],
			apiError: {
				isApiError: true,
				name: "WatcherApiError",
				status: 404,
				code: "watch_not_found",
				requestId: "rid-9",
			},
			event: "asset.active",
			forged: { isVerificationError: true, reason: "bad_signature" },
			documentTitle: "seedance-asset-watcher",
		});
	});

	it("type-checks a TypeScript consumer against its declarations", async () => {
		writeText(`${app}/consumer.ts`, CONSUMER_TS);
		writeText(
			`${app}/tsconfig.json`,
			JSON.stringify({
				compilerOptions: {
					strict: true,
					noEmit: true,
					target: "es2022",
					module: "nodenext",
					moduleResolution: "nodenext",
					lib: ["es2022", "dom"],
					types: [],
					// The package's declarations are checked through their use; the DOM lib's own are not.
					skipLibCheck: true,
				},
				files: ["consumer.ts"],
			}),
		);
		const { code, stdout } = await runProcess(NODE, [`${ROOT}/node_modules/typescript/bin/tsc`, "-p", "."], {
			cwd: app,
		});
		expect(stdout).toBe("");
		expect(code).toBe(0);
	});
});

describe("client/src/openapi.ts", () => {
	it("is what openapi-typescript makes of client/openapi.json (else: npm run client:types)", async () => {
		const doc = JSON.parse(readText(DOCUMENT_FILE));
		expect(await typesOf(doc)).toBe(readText(TYPES_FILE));
	});
});
