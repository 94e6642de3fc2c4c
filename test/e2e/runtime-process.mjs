// The local Workers runtime as a process of its own: miniflare (which runs workerd as its child)
// serving the bundled worker with SQLite Durable Objects persisted in a given folder. The harness
// starts it in a process group of its own, so a crash can be simulated by SIGKILLing the whole
// group (this process and workerd together, with no graceful shutdown).
// Its configuration arrives over the IPC channel, never on the command line: it holds secrets.
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";

/** @type {Miniflare | undefined} */
let mf;
let stopping = false;

async function stop(code) {
	if (stopping) return;
	stopping = true;
	try {
		await mf?.dispose();
	} finally {
		process.exit(code);
	}
}

process.once("SIGTERM", () => stop(0));
process.once("SIGINT", () => stop(0));
// The harness went away without stopping us: do not outlive it (and keep workerd with us).
process.once("disconnect", () => stop(0));

process.once("message", async (config) => {
	try {
		mf = new Miniflare(
			convertV4MiniflareOptions({
				host: config.host,
				port: config.port,
				resourcePersistencePath: config.persistDir,
				// GET /cdn-cgi/local/scheduled (wrangler dev maps /cdn-cgi/handler/scheduled onto it): cron never fires locally.
				unsafeTriggerHandlers: true,
				logRequests: false,
				log: new Log(LogLevel.WARN),
				handleStructuredLogs: ({ level, message }) => {
					const stream = level === "error" || level === "warn" ? process.stderr : process.stdout;
					stream.write(`${message}\n`);
				},
				workers: [
					{
						name: config.name,
						modules: true,
						scriptPath: config.scriptPath,
						compatibilityDate: config.compatibilityDate,
						compatibilityFlags: config.compatibilityFlags,
						bindings: config.bindings,
						durableObjects: config.durableObjects,
						cronTriggers: config.cronTriggers,
						// wrangler.toml [assets]: the static files answered before the worker runs.
						assets: config.assets,
						ratelimits: config.ratelimits,
					},
				],
			}),
		);
		const url = await mf.ready;
		process.send?.({ ready: url.origin });
	} catch (err) {
		process.send?.({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
		await stop(1);
	}
});
