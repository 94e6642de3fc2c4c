// `npm start`: the whole service on one machine with nothing to configure. Starts the Crun
// simulator (:8790) and a demo callback receiver (:8791) in this process, and the worker under
// `wrangler dev` on http://127.0.0.1:8787 wired to both, with demo secrets made up for this run
// (WEBHOOK_SECRET may come from the environment instead) handed over in a private env file outside
// the repo (so .dev.vars, if any, is left alone and unused). The banner says what the demo relaxes
// against production and prints the webhook secret, so a receiver of your own can verify too.
// PORT, SIM_PORT and RECEIVER_PORT move the three ports. Ctrl-C stops everything, workerd included
// (wrangler runs in a process group of its own).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simOptionsFromEnv, startCrunSim } from "../sim/crun.mjs";
import { startReceiver } from "../sim/receiver.mjs";
import { QUIET_ENV, ROOT, randomWebhookSecret } from "../test/e2e/harness.mjs";

const HOST = "127.0.0.1";
const TOKEN = "demo-token";
/** How long the simulator keeps an unscripted asset Processing after its first check. */
const PROCESSING_MS = 3000;
// Quicker than production (2 s, growing to 60 s) so the demo callback comes within seconds; and
// callbacks over http to this machine only, where the demo receiver (or yours) listens.
const DEMO_VARS = { POLL_INITIAL_MS: "1000", POLL_MAX_MS: "10000", ALLOW_PRIVATE_CALLBACKS: "loopback" };
/** The format the service accepts (src/config.ts): whsec_ and base64, several space-separated. */
const WEBHOOK_SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]+={0,2}( +whsec_[A-Za-z0-9+/]+={0,2})*$/;

function portFromEnv(name, fallback) {
	const raw = process.env[name];
	if (raw === undefined || raw === "") return fallback;
	const port = Number(raw);
	if (!Number.isInteger(port) || port < 1 || port > 65535) {
		console.error(`${name} must be a port number (1-65535), not ${JSON.stringify(raw)}`);
		process.exit(1);
	}
	return port;
}

const SERVICE_PORT = portFromEnv("PORT", 8787);
const SIM_PORT = portFromEnv("SIM_PORT", 8790);
const RECEIVER_PORT = portFromEnv("RECEIVER_PORT", 8791);

const secretFromEnv = process.env.WEBHOOK_SECRET?.trim() || undefined;
if (secretFromEnv !== undefined && !WEBHOOK_SECRET_FORMAT.test(secretFromEnv)) {
	// Never echo it: even a malformed secret may be most of a real one.
	console.error(
		'WEBHOOK_SECRET in the environment is not a webhook secret: it must be "whsec_" followed by base64 (several space-separated to rotate). Unset it to have one made up for this run.',
	);
	process.exit(1);
}

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
	console.error(`npm start needs Node >= 22.12 (this is ${process.version}); scripts/up start brings one.`);
	process.exit(1);
}

function portFree(port) {
	return new Promise((resolve) => {
		const probe = createServer()
			.once("error", () => resolve(false))
			.listen(port, HOST, () => probe.close(() => resolve(true)));
	});
}

const busy = [];
for (const port of [SERVICE_PORT, SIM_PORT, RECEIVER_PORT]) if (!(await portFree(port))) busy.push(port);
if (busy.length > 0) {
	console.error(
		`port ${busy.join(", ")} on ${HOST} is in use (another npm start or npm run dev?); stop it first.`,
	);
	process.exit(1);
}

const dim = (s) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[22m` : s);
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);

const secret = secretFromEnv ?? randomWebhookSecret();
const crunKey = `sim-${randomBytes(8).toString("hex")}`;
const crun = await startCrunSim({
	port: SIM_PORT,
	host: HOST,
	apiKey: crunKey,
	defaultProcessingMs: PROCESSING_MS,
	// CRUN_SIM_DISTRIBUTIONS / CRUN_SIM_RATE_LIMIT / CRUN_SIM_SEED (sim/README.md), when set.
	...simOptionsFromEnv(),
});
const simConfig = crun.config();
const simTypes = Object.keys(simConfig.distributions);
const upstreamNote = [
	simTypes.length === 0
		? `assets turn Active ${PROCESSING_MS / 1000} s after their first check`
		: `processing times drawn per type for ${simTypes.join(", ")} (CRUN_SIM_DISTRIBUTIONS)`,
	'ids starting with "fail" turn Failed',
	...(simConfig.rateLimit.perSecond > 0 ? [`429 above ${simConfig.rateLimit.perSecond} calls/s`] : []),
].join("; ");
const receiver = await startReceiver({
	port: RECEIVER_PORT,
	host: HOST,
	secret,
	onDelivery(d) {
		const type = d.json?.type ?? "(no type)";
		const asset = d.json?.data?.asset_id ?? "?";
		const mark = d.verified ? "verified" : `NOT verified (${d.error})`;
		console.log(
			`\n${bold(`callback received: ${type} for ${asset}`)} — signature ${mark}, webhook-id ${d.webhookId}, attempt ${d.attempt}`,
		);
		console.log(d.json ? JSON.stringify(d.json, null, 2) : d.body);
	},
});

// Secrets go to a private file that only this run knows, never onto the command line or the repo.
const runDir = mkdtempSync(join(tmpdir(), "seedance-start-"));
const envFile = join(runDir, "demo.env");
const env = {
	CRUN_API_BASE: crun.url,
	CRUN_API_KEY: crunKey,
	API_TOKENS: TOKEN,
	WEBHOOK_SECRET: secret,
	...DEMO_VARS,
};
writeFileSync(
	envFile,
	`${Object.entries(env)
		.map(([k, v]) => `${k}=${v}`)
		.join("\n")}\n`,
	{ mode: 0o600 },
);

const wrangler = spawn(
	process.execPath,
	[
		join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"),
		"dev",
		"--ip",
		HOST,
		"--port",
		String(SERVICE_PORT),
		"--env-file",
		envFile,
		"--persist-to",
		join(runDir, "state"),
		"--show-interactive-dev-session=false",
	],
	{
		cwd: ROOT,
		// Its own process group, so that stopping it takes workerd along.
		detached: true,
		env: { ...process.env, ...QUIET_ENV },
		stdio: ["ignore", "pipe", "pipe"],
	},
);

let stopping = false;
let ready = false;
const recent = [];
function relay(stream, out) {
	let buffer = "";
	stream.setEncoding("utf8");
	stream.on("data", (chunk) => {
		buffer += chunk;
		for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
			const line = buffer.slice(0, nl);
			buffer = buffer.slice(nl + 1);
			recent.push(line);
			if (recent.length > 40) recent.shift();
			// Before it is ready wrangler prints its bindings table; afterwards only the worker's logs matter.
			if (ready && line.trim() !== "") out.write(`${dim("service │")} ${line}\n`);
		}
	});
}
relay(wrangler.stdout, process.stdout);
relay(wrangler.stderr, process.stderr);

const wranglerExit = new Promise((resolve) =>
	wrangler.once("exit", (code, signal) => resolve(code ?? signal)),
);

function killGroup(signal) {
	try {
		process.kill(-wrangler.pid, signal);
	} catch {}
}

async function stop(code) {
	if (stopping) return;
	stopping = true;
	console.log(dim("\nstopping…"));
	killGroup("SIGTERM");
	const timedOut = await Promise.race([
		wranglerExit.then(() => false),
		new Promise((r) => setTimeout(() => r(true), 5000)),
	]);
	// Whatever is left of the group (workerd) goes too.
	killGroup(timedOut ? "SIGKILL" : "SIGTERM");
	await Promise.allSettled([crun.close(), receiver.close()]);
	rmSync(runDir, { recursive: true, force: true });
	process.exit(code);
}

process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
process.on("SIGHUP", () => stop(0));
// Never leave workerd behind, whatever happens to this process.
process.on("exit", () => killGroup("SIGKILL"));

wranglerExit.then((how) => {
	if (stopping) return;
	console.error(`wrangler dev stopped unexpectedly (${how}). Its last lines:\n${recent.join("\n")}`);
	stop(1);
});

const base = `http://${HOST}:${SERVICE_PORT}`;
const deadline = Date.now() + 90_000;
for (;;) {
	if (stopping) await new Promise(() => {});
	try {
		const res = await fetch(`${base}/healthz`);
		const health = await res.json();
		if (res.status === 200) break;
		console.error(`the service answers /healthz with ${res.status}: ${JSON.stringify(health)}`);
		await stop(1);
	} catch {}
	if (Date.now() > deadline) {
		console.error(`the service did not come up within 90 s. wrangler's last lines:\n${recent.join("\n")}`);
		await stop(1);
	}
	await new Promise((r) => setTimeout(r, 250));
}
ready = true;

const body = JSON.stringify({ asset_id: "demo-asset-1", callback_url: `${receiver.url}/callbacks` });
const curl = `curl -s -X POST ${base}/v1/watches -H 'authorization: Bearer ${TOKEN}' -H 'content-type: application/json' -d '${body}'`;
console.log(`
${bold("seedance-asset-watcher is running on")} ${base}  ${dim(`(/healthz: nothing missing; docs at ${base}/docs)`)}
  upstream: Crun simulator on ${crun.url}  ${dim(`(${upstreamNote})`)}
  callbacks: demo receiver on ${receiver.url}, verifying signatures with this run's webhook secret
  dashboard: ${base}/dashboard  ${dim(`(sign in with the bearer token below)`)}
  bearer token: ${TOKEN}
  webhook secret: ${secret}  ${dim(secretFromEnv ? "(from WEBHOOK_SECRET in the environment)" : "(made up for this run; set WEBHOOK_SECRET to choose it)")}${existsSync(join(ROOT, ".dev.vars")) ? dim("\n  (.dev.vars is not used here: npm run dev uses it against the real Crun)") : ""}

What this demo relaxes (production keeps the defaults, see README "Configuration"):
  - callbacks may use http and any port, but only to this machine: ALLOW_PRIVATE_CALLBACKS=loopback
    accepts 127.0.0.0/8, [::1] and localhost and refuses every other host (production: https on 443
    to public hosts only)
  - polling starts at ${Number(DEMO_VARS.POLL_INITIAL_MS) / 1000} s and grows to ${Number(DEMO_VARS.POLL_MAX_MS) / 1000} s (production: 2 s to 60 s)
  - Crun is the simulator above; the token and the secrets are this run's, not yours

Watch a demo asset — run this in another terminal:

  ${curl}

The verified callback will be printed here when it arrives (a few seconds). To try a receiver of
your own, listen on 127.0.0.1, use the webhook secret above and register its URL as callback_url.
Ctrl-C stops everything.`);
