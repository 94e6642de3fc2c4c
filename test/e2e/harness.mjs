// Runs the worker as users run it: under the local Workers runtime (miniflare + workerd), over real
// loopback HTTP, with its Durable Object SQLite state persisted in a folder that outlives the
// process. Shared by the end-to-end tests, `npm run bench` and anything else that needs the real
// thing. `crash()` SIGKILLs the runtime's whole process group (no graceful shutdown, exactly like a
// crash) and `start()` brings it back on the same state and port.
//
// The worker is bundled once by `wrangler deploy --dry-run` (the same bundle a deploy uploads) and
// cached by a hash of its inputs; its bindings come from wrangler.toml through wrangler's own
// reading of it, so this file never restates the configuration.
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync,
} from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAssets } from "../../scripts/build-assets.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RUNTIME_PROCESS = fileURLToPath(new URL("./runtime-process.mjs", import.meta.url));
const WRANGLER_BIN = join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const CACHE_DIR = join(ROOT, "node_modules", ".cache", "seedance-runtime");

/** Keeps wrangler offline and silent: no metrics, no cf fetch, no banner. */
export const QUIET_ENV = {
	WRANGLER_SEND_METRICS: "false",
	CLOUDFLARE_CF_FETCH_ENABLED: "false",
	WRANGLER_HIDE_BANNER: "true",
};

/** Short polling and delivery timings, so a test sees a whole watch lifecycle in about a second. */
export const FAST_VARS = {
	POLL_INITIAL_MS: "200",
	POLL_MAX_MS: "1000",
	POLL_BACKOFF: "1.5",
	DELIVERY_SCHEDULE_S: "1,1,2",
	CALLBACK_TIMEOUT_MS: "2000",
	// Also sets how long a check or send cut by a crash holds its lease (this + 30 s).
	UPSTREAM_TIMEOUT_MS: "2000",
	ALLOW_PRIVATE_CALLBACKS: "loopback",
};

export function randomWebhookSecret() {
	return `whsec_${randomBytes(24).toString("base64")}`;
}

/** The three secrets of SPEC §2 for a local run against the simulator. */
export function localSecrets({
	crunApiKey = "sim-key",
	tokens = ["local-token"],
	webhookSecret = randomWebhookSecret(),
} = {}) {
	return { CRUN_API_KEY: crunApiKey, API_TOKENS: tokens.join(","), WEBHOOK_SECRET: webhookSecret };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the bundle ------------------------------------------------------------------------------

function* walk(dir) {
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const path = join(dir, entry.name);
		if (entry.isDirectory()) yield* walk(path);
		else yield path;
	}
}

function inputsHash() {
	const files = [
		...walk(join(ROOT, "src")),
		...["package.json", "wrangler.toml", "tsconfig.json", "node_modules/wrangler/package.json"].map((f) =>
			join(ROOT, f),
		),
	].sort();
	const hash = createHash("sha256");
	for (const file of files) {
		if (!existsSync(file)) continue;
		hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
	}
	return hash.digest("hex").slice(0, 16);
}

function run(args, { cwd = ROOT } = {}) {
	return new Promise((resolvePromise, reject) => {
		const child = spawn(process.execPath, args, {
			cwd,
			env: { ...process.env, ...QUIET_ENV },
			stdio: ["ignore", "pipe", "pipe"],
		});
		let output = "";
		child.stdout.on("data", (d) => {
			output += d;
		});
		child.stderr.on("data", (d) => {
			output += d;
		});
		child.once("error", reject);
		child.once("exit", (code) =>
			code === 0
				? resolvePromise(output)
				: reject(new Error(`${args.join(" ")} exited with ${code}:\n${output.slice(-4000)}`)),
		);
	});
}

// Wrangler's reading of wrangler.toml, reduced to what a miniflare worker needs. Run in a child so
// that the ~100 MB of wrangler is loaded only when the bundle changes.
const WORKER_OPTIONS_SCRIPT = `
import { writeFileSync } from "node:fs";
const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import("wrangler");
const config = unstable_readConfig({ config: "wrangler.toml" });
const { workerOptions: o } = unstable_getMiniflareWorkerOptions("wrangler.toml");
writeFileSync(process.argv[1], JSON.stringify({
	name: config.name,
	compatibilityDate: o.compatibilityDate,
	compatibilityFlags: o.compatibilityFlags,
	bindings: o.bindings,
	durableObjects: o.durableObjects,
	cronTriggers: o.cronTriggers,
	assets: o.assets,
	ratelimits: o.ratelimits,
}));
`;

/**
 * Keeps the few newest bundles (every edit of src/ makes a new one). An older one is removed only
 * when it has not been built for a while, since a running runtime restarts from its file.
 */
function pruneCache(keep) {
	const entries = readdirSync(CACHE_DIR, { withFileTypes: true })
		.filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name))
		.map((e) => join(CACHE_DIR, e.name))
		.filter((path) => path !== keep)
		.map((path) => ({ path, mtime: statSync(path).mtimeMs }))
		.sort((a, b) => b.mtime - a.mtime);
	const stale = Date.now() - 30 * 60_000;
	for (const { path, mtime } of entries.slice(4))
		if (mtime < stale) rmSync(path, { recursive: true, force: true });
}

/**
 * Bundles the worker (cached by a hash of src/, package.json, wrangler.toml and the wrangler
 * version) and returns what the runtime process needs to serve it.
 * @returns {Promise<import("./harness.d.mts").BuiltWorker>}
 */
export async function buildWorker() {
	// The static assets are read from public/ at start, whichever bundle is cached.
	buildAssets();
	const dir = join(CACHE_DIR, inputsHash());
	const manifest = join(dir, "worker.json");
	const read = () => JSON.parse(readFileSync(manifest, "utf8"));
	if (existsSync(manifest)) return read();
	mkdirSync(CACHE_DIR, { recursive: true });
	// Several test files may start at once: one builds, the others wait for its result.
	const lock = `${dir}.lock`;
	for (;;) {
		try {
			mkdirSync(lock);
			break;
		} catch (err) {
			if (err.code !== "EEXIST") throw err;
			if (existsSync(manifest)) return read();
			try {
				if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
			} catch {}
			await sleep(200);
		}
	}
	const out = `${dir}.tmp-${process.pid}`;
	try {
		if (existsSync(manifest)) return read();
		rmSync(out, { recursive: true, force: true });
		mkdirSync(out, { recursive: true });
		const optionsFile = join(out, "options.json");
		await Promise.all([
			// --env= : the top-level (production) configuration, said explicitly since there are environments.
			run([WRANGLER_BIN, "deploy", "--dry-run", "--env=", "--outdir", out]),
			run(["--input-type=module", "-e", WORKER_OPTIONS_SCRIPT, optionsFile]),
		]);
		const options = JSON.parse(readFileSync(optionsFile, "utf8"));
		writeFileSync(
			join(out, "worker.json"),
			JSON.stringify({ ...options, scriptPath: join(dir, "index.js") }, null, 1),
		);
		rmSync(dir, { recursive: true, force: true });
		renameSync(out, dir);
		pruneCache(dir);
		return read();
	} finally {
		rmSync(out, { recursive: true, force: true });
		rmSync(lock, { recursive: true, force: true });
	}
}

// ---- processes -------------------------------------------------------------------------------

/** The pid's descendants (children first), from /proc; empty where /proc is not available. */
export function descendants(pid) {
	const out = [];
	let tasks = [];
	try {
		tasks = readdirSync(`/proc/${pid}/task`);
	} catch {
		return out;
	}
	for (const tid of tasks) {
		let children = "";
		try {
			children = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8");
		} catch {}
		for (const c of children.split(" ").filter(Boolean).map(Number)) out.push(c, ...descendants(c));
	}
	return out;
}

function isGone(pid) {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		// A zombie holds no files or sockets any more: as good as gone.
		return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
	} catch {
		return true;
	}
}

function killGroup(pid, signal) {
	try {
		process.kill(-pid, signal);
	} catch {}
}

const live = new Set();
// Last resort when the owner exits without disposing: take every runtime down with it.
process.once("exit", () => {
	for (const pid of live) killGroup(pid, "SIGKILL");
});

/**
 * Starts the worker under the local runtime.
 * @param {import("./harness.d.mts").RuntimeOptions} [options]
 * @returns {Promise<import("./harness.d.mts").Runtime>}
 */
export async function startRuntime(options = {}) {
	const worker = await buildWorker();
	const host = options.host ?? "127.0.0.1";
	const ownsPersistDir = options.persistDir === undefined;
	const persistDir = options.persistDir ?? (await mkdtemp(join(tmpdir(), "seedance-runtime-")));
	const secrets = options.secrets ?? localSecrets();
	const bindings = { ...worker.bindings, ...options.vars, ...secrets };
	// The binding's limit lives in its own configuration, not in a var: a different one is set on
	// both. The binding counts blocks of 10 requests (REQUESTS_PER_CALL, src/http/request-rate.ts).
	const perMinute = options.rateLimitPerMinute;
	const ratelimits =
		perMinute === undefined
			? worker.ratelimits
			: Object.fromEntries(
					Object.entries(worker.ratelimits ?? {}).map(([name, r]) => [
						name,
						{ ...r, simple: { limit: Math.ceil(perMinute / 10), period: 60 } },
					]),
				);
	if (perMinute !== undefined) bindings.RATE_LIMIT_PER_MINUTE = String(perMinute);
	const token = options.token ?? (secrets.API_TOKENS ?? "").split(",")[0]?.trim() ?? "";
	const maxLines = options.maxLogLines ?? 20_000;
	let port = options.port ?? 0;
	/** @type {import("node:child_process").ChildProcess | null} */
	let child = null;
	let exited = Promise.resolve();
	let url = "";
	const lines = [];
	const waiters = new Set();

	function onLine(line, stream) {
		lines.push(line);
		if (lines.length > maxLines) lines.splice(0, lines.length - maxLines);
		options.onLog?.(line, stream);
		for (const w of waiters) {
			if (w.predicate(line)) {
				waiters.delete(w);
				w.resolve(line);
			}
		}
	}

	function pipeLines(readable, stream) {
		let buffer = "";
		readable.setEncoding("utf8");
		readable.on("data", (chunk) => {
			buffer += chunk;
			let nl = buffer.indexOf("\n");
			while (nl >= 0) {
				onLine(buffer.slice(0, nl), stream);
				buffer = buffer.slice(nl + 1);
				nl = buffer.indexOf("\n");
			}
		});
	}

	function spawnOnce() {
		const proc = spawn(process.execPath, [RUNTIME_PROCESS], {
			cwd: ROOT,
			// Its own process group: a crash takes this process and workerd down together.
			detached: true,
			env: { ...process.env, ...QUIET_ENV },
			stdio: ["ignore", "pipe", "pipe", "ipc"],
		});
		live.add(proc.pid);
		pipeLines(proc.stdout, "stdout");
		pipeLines(proc.stderr, "stderr");
		const exit = new Promise((r) => proc.once("exit", r)).then(() => live.delete(proc.pid));
		const ready = new Promise((resolvePromise, reject) => {
			proc.once("message", (m) => (m.ready ? resolvePromise(m.ready) : reject(new Error(m.error))));
			proc.once("exit", (code, signal) =>
				reject(new Error(`runtime exited (${code ?? signal}) before it was ready`)),
			);
		});
		proc.send({
			name: worker.name,
			scriptPath: worker.scriptPath,
			compatibilityDate: worker.compatibilityDate,
			compatibilityFlags: worker.compatibilityFlags,
			durableObjects: worker.durableObjects,
			cronTriggers: worker.cronTriggers,
			assets: worker.assets,
			ratelimits,
			bindings,
			host,
			port,
			persistDir,
		});
		return { proc, exit, ready };
	}

	async function start() {
		if (child) throw new Error("the runtime is already running");
		// Right after a crash the port may still be held for a moment: try again briefly.
		for (let attempt = 1; ; attempt++) {
			const { proc, exit, ready } = spawnOnce();
			try {
				url = await ready;
				child = proc;
				exited = exit;
				port = Number(new URL(url).port);
				proc.once("exit", () => {
					if (child === proc) child = null;
				});
				return;
			} catch (err) {
				killGroup(proc.pid, "SIGKILL");
				await exit;
				if (attempt >= 20 || !/address already in use/i.test(String(err))) throw err;
				await sleep(250);
			}
		}
	}

	async function waitGone(pids) {
		const deadline = Date.now() + 10_000;
		while (pids.some((p) => !isGone(p))) {
			if (Date.now() > deadline) throw new Error(`runtime processes ${pids.join(",")} did not exit`);
			await sleep(20);
		}
	}

	async function crash() {
		const proc = child;
		if (!proc) return;
		const pids = [proc.pid, ...descendants(proc.pid)];
		killGroup(proc.pid, "SIGKILL");
		await exited;
		// workerd must be gone before anything reopens its SQLite files.
		await waitGone(pids);
		child = null;
	}

	async function stop() {
		const proc = child;
		if (!proc) return;
		const pids = [proc.pid, ...descendants(proc.pid)];
		killGroup(proc.pid, "SIGTERM");
		const timedOut = await Promise.race([exited.then(() => false), sleep(5_000).then(() => true)]);
		if (timedOut) killGroup(proc.pid, "SIGKILL");
		await exited;
		killGroup(proc.pid, "SIGKILL");
		await waitGone(pids);
		child = null;
	}

	await start();

	/** @type {import("./harness.d.mts").Runtime} */
	const runtime = {
		get url() {
			return url;
		},
		get port() {
			return port;
		},
		get pid() {
			return child?.pid ?? null;
		},
		persistDir,
		token,
		secrets,
		bindings,
		pids() {
			return child ? [child.pid, ...descendants(child.pid)] : [];
		},
		fetch(path, init = {}) {
			const { json, token: bearer, ...rest } = init;
			const headers = new Headers(rest.headers);
			const t = bearer === undefined ? token : bearer;
			if (t && !headers.has("authorization")) headers.set("authorization", `Bearer ${t}`);
			if (json !== undefined) {
				headers.set("content-type", "application/json");
				rest.body = JSON.stringify(json);
				rest.method ??= "POST";
			}
			return fetch(new URL(path, url), { ...rest, headers });
		},
		scheduled(cron = worker.cronTriggers?.[0] ?? "* * * * *", time = Date.now()) {
			const q = new URLSearchParams({ cron, time: String(time) });
			// miniflare's own path; wrangler dev also maps /cdn-cgi/handler/scheduled onto it.
			return fetch(`${url}/cdn-cgi/local/scheduled?${q}`);
		},
		logs() {
			return [...lines];
		},
		waitForLog(predicate, timeoutMs = 10_000) {
			const found = lines.find(predicate);
			if (found !== undefined) return Promise.resolve(found);
			return new Promise((resolvePromise, reject) => {
				const waiter = { predicate, resolve: resolvePromise };
				waiters.add(waiter);
				setTimeout(() => {
					if (waiters.delete(waiter))
						reject(new Error(`no matching runtime log line within ${timeoutMs} ms`));
				}, timeoutMs).unref?.();
			});
		},
		clearLogs() {
			lines.length = 0;
		},
		start,
		crash,
		stop,
		async restart({ hard = true } = {}) {
			if (hard) await crash();
			else await stop();
			await start();
		},
		async dispose() {
			await stop();
			for (const w of waiters) waiters.delete(w);
			if (ownsPersistDir) rmSync(persistDir, { recursive: true, force: true });
		},
	};
	return runtime;
}
