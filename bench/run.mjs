// `npm run bench`: what the service costs and how quickly it notifies, measured in one run on the
// local runtime (the bundled worker under miniflare/workerd, state persisted on disk) against the
// Crun simulator and a callback receiver on loopback. A benchmark, not a test: it asserts nothing,
// prints a table and writes bench/results.json. bench/README.md says what each figure means.
// `npm run bench -- simulate` runs only the pure schedule simulator (a second), `-- cost` only the
// cost meter (whole lifecycles inside workerd, ~30 s), `-- budget` only the upstream budget (~2 min),
// `-- outage` only the receiver outage (about 1.5 min); each updates its own entry of results.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { startCrunSim } from "../sim/crun.mjs";
import { startReceiver } from "../sim/receiver.mjs";
import { localSecrets, ROOT, startRuntime } from "../test/e2e/harness.mjs";
import { BUDGET, measureBudget } from "./budget.mjs";

// ---- settings (stated in the output) ---------------------------------------------------------

/**
 * The delay and upstream-call measurements (and a second figure for watched lookups): quick
 * polling, so a run takes minutes.
 */
const VARS = {
	POLL_INITIAL_MS: "500",
	POLL_MAX_MS: "5000",
	POLL_BACKOFF: "1.5",
	ALLOW_PRIVATE_CALLBACKS: "loopback",
	// These sections measure the service's own speed and delay: the growing interval (what the
	// flips below are spread over) and no upstream budget (500 assets at these intervals want more
	// than 20 calls/s; the budget section measures that on its own).
	POLL_STRATEGY: "backoff",
	UPSTREAM_MAX_RPS: "0",
};
/**
 * The throughput per route and the object calls of each request: as deployed (wrangler.toml's
 * poll settings, adaptive strategy and upstream budget), so a watched asset's answer is kept as
 * long as its real schedule leaves it unchanged. Only loopback callbacks are allowed on top.
 */
const DEPLOYED_VARS = { ALLOW_PRIVATE_CALLBACKS: "loopback" };
/**
 * The rate limit is on, as deployed: every /v1 request asks the RATE_LIMITER binding. Its limit is
 * raised from 600 to this (the binding's and RATE_LIMIT_PER_MINUTE alike) so that the one bench
 * token is never refused: the check costs the same whatever the number it compares with.
 */
const BENCH_RATE_LIMIT_PER_MINUTE = 1_000_000;
/**
 * The memory measurement, on a second, fresh runtime: each asset checked on registration, then
 * every ten minutes. Local workerd keeps three files open per Durable Object in memory and evicts
 * one 10-20 s after its last event; polling every few seconds would keep all 10,000 in memory at
 * once, past this machine's open-file limit, which would say nothing about the service.
 */
const MEMORY_VARS = { ...VARS, POLL_INITIAL_MS: "600000", POLL_MAX_MS: "600000" };
const POLL_MAX_MS = Number(VARS.POLL_MAX_MS);
const CONNECTIONS = 10;
const DURATION_S = 10;
/** Turns of /healthz and the route within one measurement (see measureRoutes). */
const PAIRED_ROUNDS = 5;
/** The second pass counts the object calls of each answer: a count, not a rate, so shorter. */
const COUNT_DURATION_S = 6;
const LOOKUP_POOL = 100;
const DELAY_ASSETS = 500;
/** A second cohort that turns Active soon after its first check, where backoff pays off. */
const QUICK_ASSETS = 100;
const QUICK_PROCESSING_MS = 2000;
/** Long enough for every delay asset's interval to have grown to POLL_MAX_MS (500 ms · 1.5^k). */
const RAMP_MS = 12_000;
/** Flips are spread evenly over one full poll interval, so they land at every phase of it. */
const FLIP_SPREAD_MS = POLL_MAX_MS;
const MEMORY_ASSETS = 10_000;
const BATCH = 100;
const MEMORY_SETTLE_MS = 5_000;
const PROCESSING_FOREVER_MS = 24 * 3_600_000;
/**
 * The receiver outage: 100 watches become due while their one receiver origin is down for 60 s.
 * A quick schedule whose span outlasts the outage (so nothing gives up for it) and a 10 s probe,
 * so the phase takes a minute and a half rather than the production schedule's hours.
 */
const OUTAGE_WATCHES = 100;
const OUTAGE_MS = 60_000;
const OUTAGE_VARS = {
	...VARS,
	DELIVERY_SCHEDULE_S: "1,2,4,8,15,30,60",
	RECEIVER_TRIP_FAILURES: "10",
	RECEIVER_PROBE_S: "10",
	CALLBACK_TIMEOUT_MS: "2000",
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const log = (msg) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${msg}`);

// ---- the machine ---------------------------------------------------------------------------

function machine() {
	let cpu = "unknown";
	try {
		cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
	} catch {}
	const version = (pkg) => {
		try {
			return JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")).version;
		} catch {
			return null;
		}
	};
	return {
		nproc: availableParallelism(),
		cpu,
		memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
		node: process.version,
		wrangler: version("wrangler"),
		miniflare: version("miniflare"),
		workerd: version("workerd"),
	};
}

// ---- memory of the runtime -------------------------------------------------------------------

function status(pid) {
	try {
		const text = readFileSync(`/proc/${pid}/status`, "utf8");
		const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
		const name = /^Name:\s+(\S+)/m.exec(text)?.[1] ?? "";
		return { name, rss: kib("VmRSS"), hwm: kib("VmHWM") };
	} catch {
		return null;
	}
}

const workerdPids = (rt) => rt.pids().filter((pid) => status(pid)?.name.startsWith("workerd"));

/** workerd's processes under the runtime (the Node process that drives miniflare is not counted). */
function workerdMemory(rt) {
	const procs = workerdPids(rt).map(status).filter(Boolean);
	return {
		processes: procs.length,
		rssKiB: procs.reduce((n, s) => n + s.rss, 0),
		hwmKiB: procs.reduce((n, s) => n + s.hwm, 0),
	};
}

function openFiles(rt) {
	let n = 0;
	for (const pid of workerdPids(rt)) {
		try {
			n += readdirSync(`/proc/${pid}/fd`).length;
		} catch {}
	}
	return n;
}

function openFileLimit(rt) {
	const pid = workerdPids(rt)[0];
	try {
		return Number(/^Max open files\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"))?.[1]) || null;
	} catch {
		return null;
	}
}

/** Peak RSS of the workerd processes, sampled every `everyMs` (open files every fourth sample). */
function sampleMemory(rt, everyMs = 250) {
	let peakRss = 0;
	let peakHwm = 0;
	let peakFiles = 0;
	let n = 0;
	const tick = () => {
		const m = workerdMemory(rt);
		peakRss = Math.max(peakRss, m.rssKiB);
		peakHwm = Math.max(peakHwm, m.hwmKiB);
		if (n++ % 4 === 0) peakFiles = Math.max(peakFiles, openFiles(rt));
	};
	tick();
	const timer = setInterval(tick, everyMs);
	return () => {
		clearInterval(timer);
		n = 0;
		tick();
		return { peakRssKiB: peakRss, hwmKiB: peakHwm, peakOpenFiles: peakFiles };
	};
}

// ---- helpers -------------------------------------------------------------------------------

function percentile(sorted, p) {
	if (sorted.length === 0) return null;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

async function pool(items, concurrency, fn) {
	let next = 0;
	const results = new Array(items.length);
	await Promise.all(
		Array.from({ length: Math.min(concurrency, items.length) }, async () => {
			while (next < items.length) {
				const i = next++;
				results[i] = await fn(items[i], i);
			}
		}),
	);
	return results;
}

async function registerBatch(rt, items) {
	const res = await rt.fetch("/v1/watches/batch", { json: { watches: items } });
	if (res.status !== 200) throw new Error(`batch registration answered ${res.status}: ${await res.text()}`);
	const { results } = await res.json();
	const bad = results.filter((r) => r.status !== 201 && r.status !== 200);
	if (bad.length > 0)
		throw new Error(`batch registration refused ${bad.length} items: ${JSON.stringify(bad[0])}`);
	return results.map((r) => r.watch);
}

async function registerAll(rt, items, concurrency) {
	const batches = [];
	for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));
	return (await pool(batches, concurrency, (b) => registerBatch(rt, b))).flat();
}

function cannon(opts) {
	return new Promise((resolve, reject) => {
		autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts }, (err, result) =>
			err ? reject(err) : resolve(result),
		);
	});
}

function throughput(result) {
	// Only 2xx answers count: a route that answered errors was not measured.
	const ok = result["2xx"];
	return {
		rps: Math.round(ok / result.duration),
		requests: result.requests.total,
		non_2xx: result.non2xx,
		errors: result.errors + result.timeouts,
		latency_p50_ms: result.latency.p50,
		latency_p99_ms: result.latency.p99,
	};
}

/** The throughput of several turns of one measurement, as one: 2xx per second over their whole time. */
function combined(results) {
	const each = results.map(throughput);
	const sum = (f) => results.reduce((n, r) => n + f(r), 0);
	return {
		rps: Math.round(sum((r) => r["2xx"]) / sum((r) => r.duration)),
		requests: sum((r) => r.requests.total),
		non_2xx: sum((r) => r.non2xx),
		errors: sum((r) => r.errors + r.timeouts),
		latency_p50_ms: Math.max(...each.map((t) => t.latency_p50_ms)),
		latency_p99_ms: Math.max(...each.map((t) => t.latency_p99_ms)),
		turns: each.map((t) => t.rps),
	};
}

// ---- the routes ------------------------------------------------------------------------------

/** The object-call headers of a counting runtime's answer (BENCH_COUNT_OBJECT_CALLS). */
function callsOf(headers) {
	const get = (name) => {
		for (const [k, v] of Object.entries(headers ?? {})) if (k.toLowerCase() === name) return Number(v);
		return Number.NaN;
	};
	return { path: get("x-object-calls"), total: get("x-object-calls-total") };
}

/** Collects, per route, the object calls each answer reports, when the runtime counts them. */
function callTally() {
	const t = { answers: 0, sum: 0, max: 0, firstTotal: Number.POSITIVE_INFINITY, lastTotal: 0 };
	return {
		note(headers) {
			const { path, total } = callsOf(headers);
			if (!Number.isFinite(path)) return;
			t.answers++;
			t.sum += path;
			t.max = Math.max(t.max, path);
			t.firstTotal = Math.min(t.firstTotal, total);
			t.lastTotal = Math.max(t.lastTotal, total);
		},
		figures() {
			if (t.answers === 0) return null;
			return {
				answers: t.answers,
				// what an answer waited on (plus background work it started, such as a count refresh)
				request_path_mean: t.sum / t.answers,
				request_path_max: t.max,
				// every call in the runtime meanwhile (the objects' own calls and alarm runs included), per answer
				all_per_answer: (t.lastTotal - t.firstTotal) / t.answers,
			};
		},
	};
}

/**
 * Each route under load: /healthz, lookups of watched (Processing) and of finished assets, and
 * registrations of new assets and on watched ones. `tag` keeps each pass's asset ids apart.
 */
async function measureRoutes(rt, { durationS, tag, only = null }) {
	const wanted = (name) => only === null || only.includes(name);
	// Each measurement is split in PAIRED_ROUNDS turns of /healthz then the route (half the time
	// each per turn), so a drift of the machine's speed falls on both alike.
	const turnS = durationS / PAIRED_ROUNDS;
	const cannonBase = { url: rt.url, headers: { authorization: `Bearer ${rt.token}` }, duration: turnS };
	const callback = (path) => `${rx.url}${path}`;
	const out = {};
	/**
	 * Each route is measured in turns with /healthz, under the same background (the objects'
	 * polling ramps down as the run goes on): its ratio is to those turns of /healthz, not to the
	 * first /healthz of the run.
	 */
	const run = async (name, request) => {
		const tally = callTally();
		const turns = { healthz: [], route: [] };
		for (let i = 0; i < PAIRED_ROUNDS; i++) {
			if (name !== "healthz") turns.healthz.push(await cannon({ ...cannonBase, url: `${rt.url}/healthz` }));
			turns.route.push(
				await cannon({
					...cannonBase,
					requests: [
						{
							...request,
							onResponse: (status, body, context, headers) => {
								tally.note(headers);
								request.onResponse?.(status, body, context, headers);
							},
						},
					],
				}),
			);
		}
		out[name] = { ...combined(turns.route), object_calls: tally.figures() };
		if (name === "healthz") return;
		out[name].healthz_before = combined(turns.healthz);
		out[name].ratio_to_healthz = out[name].rps / out[name].healthz_before.rps;
	};

	// Watched assets to look up: still Processing, so their answers come from the object's storage,
	// or from the edge until each one's next check.
	log(`[${tag}] registering ${LOOKUP_POOL} watched assets and ${LOOKUP_POOL} that finish at once`);
	for (let i = 0; i < LOOKUP_POOL; i++) crun.script(`${tag}-done-${i}`, { processingMs: 0 });
	await registerAll(
		rt,
		Array.from({ length: LOOKUP_POOL }, (_, i) => [
			{ asset_id: `${tag}-look-${i}`, callback_url: callback("/bench/look") },
			{ asset_id: `${tag}-done-${i}`, callback_url: callback("/bench/done") },
		]).flat(),
		1,
	);
	const doneBy = Date.now() + 30_000;
	const finished = async () => {
		const res = await rt.fetch(`/v1/watches?asset_id=${tag}-done-${LOOKUP_POOL - 1}`);
		return res.ok && (await res.json()).watches.every((w) => w.asset_status === "Active");
	};
	while (!(await finished()) && Date.now() < doneBy) await sleep(200);
	await sleep(1000);

	log(`[${tag}] warming up`);
	await cannon({ ...cannonBase, url: `${rt.url}/healthz`, duration: 1 });
	log(`[${tag}] GET /healthz: ${CONNECTIONS} connections × ${durationS} s`);
	await run("healthz", { method: "GET", path: "/healthz" });

	for (const [name, prefix] of [
		["watched_lookups", "look"],
		["finished_lookups", "done"],
	]) {
		if (!wanted(name)) continue;
		log(
			`[${tag}] GET /v1/assets/:id over ${LOOKUP_POOL} ${prefix === "look" ? "watched" : "finished"} assets`,
		);
		// One lookup of each first, as /healthz is warmed up: the figure is the steady state.
		await pool(
			Array.from({ length: LOOKUP_POOL }, (_, i) => i),
			8,
			async (i) => (await rt.fetch(`/v1/assets/${tag}-${prefix}-${i}`)).text(),
		);
		let n = 0;
		await run(name, {
			method: "GET",
			setupRequest: (req) => ({ ...req, path: `/v1/assets/${tag}-${prefix}-${n++ % LOOKUP_POOL}` }),
		});
	}

	if (!wanted("registrations")) return out;
	log(`[${tag}] POST /v1/watches, a new asset each time`);
	let regN = 0;
	const registeredIds = [];
	await run("registrations", {
		method: "POST",
		headers: { "content-type": "application/json", authorization: `Bearer ${rt.token}` },
		setupRequest: (req) => ({
			...req,
			path: "/v1/watches",
			body: JSON.stringify({ asset_id: `${tag}-reg-${regN++}`, callback_url: callback("/bench/reg") }),
		}),
		onResponse: (status, body) => {
			if (status === 201) registeredIds.push(JSON.parse(body).id);
		},
	});
	// They would keep polling for the rest of the run: cancel them so later figures are not skewed.
	log(`[${tag}] cancelling the ${registeredIds.length} watches just registered`);
	await pool(registeredIds, 8, async (id) =>
		(await rt.fetch(`/v1/watches/${id}`, { method: "DELETE" })).text(),
	);

	// The same, on assets whose Durable Object already exists: the difference is what creating an
	// object (its SQLite file and schema) costs the local runtime.
	log(`[${tag}] POST /v1/watches, new watches on 20 assets already watched`);
	const hotIds = [];
	await pool(
		Array.from({ length: 20 }, (_, i) => i),
		8,
		async (i) => {
			const res = await rt.fetch("/v1/watches", {
				json: { asset_id: `${tag}-hot-${i}`, callback_url: callback("/bench/hot/first") },
			});
			if (res.status === 201) hotIds.push((await res.json()).id);
			else await res.text();
		},
	);
	let hotN = 0;
	await run("registrations_existing_asset", {
		method: "POST",
		headers: { "content-type": "application/json", authorization: `Bearer ${rt.token}` },
		setupRequest: (req) => {
			const n = hotN++;
			return {
				...req,
				path: "/v1/watches",
				body: JSON.stringify({ asset_id: `${tag}-hot-${n % 20}`, callback_url: callback(`/bench/hot/${n}`) }),
			};
		},
		onResponse: (status, body) => {
			if (status === 201) hotIds.push(JSON.parse(body).id);
		},
	});
	log(`[${tag}] cancelling the ${hotIds.length} watches just registered`);
	await pool(hotIds, 8, async (id) => (await rt.fetch(`/v1/watches/${id}`, { method: "DELETE" })).text());
	return out;
}

// ---- the schedule simulator: pure TypeScript, no runtime, a second or so ----------------------

/** The simulator's run and its printed report; an error instead where this Node cannot load it. */
async function scheduleSimulation() {
	try {
		// Node ≥ 22.18 (or 23.6) strips the types of src/ itself; an older one cannot load it.
		const sim = await import("../src/polling/simulate.ts");
		const run = sim.runSimulation();
		return { run, report: sim.formatReport(run) };
	} catch (err) {
		return { error: `not run: ${err?.message ?? err} (needs a Node that strips TypeScript types, ≥ 22.18)` };
	}
}

// ---- the cost meter: whole lifecycles inside workerd (test/cost/lifecycle.test.ts) ----------

/** Published prices (USD): Durable Objects (SQLite rows, requests) and Workers Standard requests. */
const PRICES = {
	rowWritten: 1 / 1e6,
	rowRead: 0.001 / 1e6,
	doRequest: 0.15 / 1e6,
	workersRequest: 0.3 / 1e6,
};

/** What one lifecycle costs at PRICES; one Workers request per asset (its registration). */
function bill(l) {
	const rowsRead = Object.values(l.perClass).reduce((n, c) => n + c.rowsRead, 0);
	return (
		l.rowsWritten * PRICES.rowWritten +
		rowsRead * PRICES.rowRead +
		l.requests * PRICES.doRequest +
		PRICES.workersRequest
	);
}

/**
 * The same lifecycle in a busy deployment: what other assets share is left out. The model's row
 * is written once per FLUSH_SAMPLES samples of a busy type (0.1 of it here), the origin's success
 * report once per isolate per SUCCESS_REPORT_MS (10 min), and the token's live-watch count (one call to
 * one index shard, far below the limit) once per isolate per COUNT_MAX_AGE_MS, whatever the number of
 * registrations.
 */
function busy(l) {
	const rowsOf = (k) => (l.perClass[k]?.rowsWritten ?? 0) + (l.perClass[k]?.alarmWrites ?? 0);
	const rowsWritten = l.rowsWritten - 0.9 * rowsOf("PollModel") - rowsOf("ReceiverOrigin");
	const requests =
		l.requests - (l.calls["WatchIndex.liveCount"] ?? 0) - (l.calls["ReceiverOrigin.report"] ?? 0);
	return { rowsWritten, requests, perClass: l.perClass };
}

/** Runs the cost test and reads its COST_JSON line; an error instead when it could not run. */
function costMeter() {
	const run = spawnSync(
		process.execPath,
		[
			join(ROOT, "node_modules", "vitest", "vitest.mjs"),
			"run",
			"--project",
			"worker",
			"test/cost/lifecycle.test.ts",
		],
		{ cwd: ROOT, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" }, maxBuffer: 64 * 1024 * 1024 },
	);
	const line = `${run.stdout}\n${run.stderr}`.split("\n").find((l) => l.includes("COST_JSON "));
	if (!line)
		return { error: `the cost test printed no figures (exit ${run.status}): ${run.stderr.slice(-2000)}` };
	const cost = JSON.parse(line.slice(line.indexOf("COST_JSON ") + "COST_JSON ".length));
	cost.prices = PRICES;
	const per10k = (x) => Math.round(bill(x) * 10_000 * 1000) / 1000;
	for (const l of cost.lifecycles) {
		l.bill_per_10k = per10k(l);
		const b = busy(l);
		l.busy = {
			rowsWritten: Math.round(b.rowsWritten * 10) / 10,
			requests: b.requests,
			bill_per_10k: per10k(b),
		};
	}
	for (const st of cost.streams ?? []) st.bill_per_10k = per10k(st);
	cost.passed = run.status === 0;
	return cost;
}

/** A stream's spacing, and how many assets a (30-day) month that makes. */
const streamSpacing = (st) =>
	`${st.spacingMs < 60_000 ? `${st.spacingMs / 1000} s` : `${(st.spacingMs / 60_000).toFixed(1)} min`} (${Math.round((30 * 86_400_000) / st.spacingMs).toLocaleString("en")} a month)`;

function costReport(c) {
	if (c.error) return `cost meter: ${c.error}`;
	const classes = ["AssetWatcher", "WatchIndex", "ReceiverOrigin", "PollModel", "UpstreamBudget"];
	const lines = [
		"cost meter (test/cost/lifecycle.test.ts inside workerd: register → checks → Active → one delivered callback → purge; production poll settings; one watch; backoff: a type the model has not learned; adaptive: one it has, 200 videos of median 5 min):",
		"",
		"| lifecycle | plan | checks | rows written | DO requests | bill per 10,000 assets | in a busy deployment: rows / requests / bill |",
		"| --- | --- | ---: | ---: | ---: | ---: | ---: |",
		...c.lifecycles.map(
			(l) =>
				`| ${l.minutes} min | ${l.plan} | ${l.checks} | ${l.rowsWritten} | ${l.requests} | $${l.bill_per_10k.toFixed(3)} | ${l.busy.rowsWritten} / ${l.busy.requests} / $${l.busy.bill_per_10k.toFixed(3)} |`,
		),
		"",
		"a busy deployment: the costs other assets share left out (the model's row, written once per 10 samples of a busy type; the origin's success report, once per isolate per 10 min; the token's live-watch count, one call to one index shard once per isolate per 10 s while far below the limit).",
		...(c.streams ?? []).flatMap((st) => [
			"",
			`a stream, measured: ${st.assets} five-minute assets of the learned type, one registered every ${streamSpacing(st)} by one token to one receiver origin, every alarm run in time order, so what they share is shared as it is at that rate; per asset ${st.checks.toFixed(1)} checks, ${st.rowsWritten.toFixed(1)} rows written, ${st.requests.toFixed(1)} DO requests: $${st.bill_per_10k.toFixed(3)} per 10,000 assets.`,
		]),
		"",
		"rows written (SQL + alarm writes) / calls in (RPC + alarm runs) per class, the 5-minute backoff lifecycle:",
		`${classes
			.map((k) => {
				const x = c.lifecycles.find((l) => l.minutes === 5 && l.plan === "backoff")?.perClass[k];
				return x ? `${k} ${x.rowsWritten + x.alarmWrites} / ${x.calls + x.alarms}` : null;
			})
			.filter(Boolean)
			.join(" · ")}`,
		`rows per extra uneventful check: ${c.assetPerCheck.toFixed(2)} in the asset object (its alarm), ${c.perCheck.toFixed(3)} with the index's heartbeat; DO requests per extra check ${c.requestsPerCheck.toFixed(2)}; fixed rows per lifecycle ${c.fixed.toFixed(1)}, fixed requests ${c.fixedRequests.toFixed(1)}`,
		"bill: rows written $1/M, rows read $0.001/M, DO requests $0.15/M, one Workers request per asset (its registration) $0.30/M; left out: DO duration (GB-s), Workers CPU time, storage (GB-month), the cron's sweep runs (a cost per run, not per asset: see docs/scale.md).",
	];
	return lines.join("\n");
}

function budgetReport(b) {
	if (b.error) return `upstream budget: ${b.error}`;
	const f = b.budgeted.first_phase;
	const t = b.budgeted.tightened;
	return [
		`upstream budget: ${BUDGET.assets} assets polling (${BUDGET.vars.POLL_INITIAL_MS} ms → ${BUDGET.vars.POLL_MAX_MS} ms, backoff) against the simulator's account limit; UPSTREAM_MAX_RPS=${BUDGET.maxRps}`,
		"",
		"| phase | calls | busiest 1 s | mean /s | answered 429 |",
		"| --- | ---: | ---: | ---: | ---: |",
		`| upstream at ${BUDGET.upstreamRps}/s, from the first registration (${BUDGET.firstPhaseMs / 1000} s) | ${f.calls} | ${f.peak_1s_exact} | ${f.mean_per_s} | ${pct(f.share_429)} |`,
		`| tightened to ${BUDGET.tightenedRps}/s: its first 10 s | ${t.first_10s.calls} | ${t.first_10s.peak_1s} | ${t.first_10s.mean_per_s} | ${pct(t.first_10s.share_429)} |`,
		`| tightened to ${BUDGET.tightenedRps}/s: from 10 s to ${BUDGET.secondPhaseMs / 1000} s | ${t.after_10s.calls} | ${t.after_10s.peak_1s} | ${t.after_10s.mean_per_s} | ${pct(t.after_10s.share_429)} |`,
		`| no budget (UPSTREAM_MAX_RPS=0), upstream at ${BUDGET.upstreamRps}/s (${BUDGET.baselineMs / 1000} s) | ${b.baseline.calls} | ${b.baseline.peak_1s_exact} | ${b.baseline.mean_per_s} | ${pct(b.baseline.share_429)} |`,
		"",
		`the budget at the end (GET /v1/stats): rate ${t.budget?.rate_rps} of ${t.budget?.max_rps} calls/s, ${t.budget?.mode}, ${t.budget?.waiting} checks waiting, errors last hour ${JSON.stringify(t.budget?.errors_last_hour ?? {})}`,
	].join("\n");
}

const pct = (x) => (x === null || x === undefined ? "—" : `${(x * 100).toFixed(1)} %`);

/** Issue 11's targets from this run's figures. */
function targets(r) {
	const rows = [];
	const sim = r.simulate?.rows;
	const find = (scenario, strategy) => sim?.find((x) => x.scenario === scenario && x.strategy === strategy);
	if (r.cost && !r.cost.error) {
		const five = r.cost.lifecycles.find((l) => l.minutes === 5 && l.plan === "backoff");
		const fiveAdaptive = r.cost.lifecycles.find((l) => l.minutes === 5 && l.plan === "adaptive");
		rows.push([
			"rows written per extra uneventful check (SQL + setAlarm)",
			"≤ 1",
			`${r.cost.assetPerCheck.toFixed(2)} (asset object); ${r.cost.perCheck.toFixed(3)} with the index heartbeat`,
		]);
		rows.push([
			"fixed rows per lifecycle (register → Active → delivered, one watch)",
			"≤ 25",
			`${r.cost.fixed.toFixed(1)}`,
		]);
		rows.push([
			"bill per 10,000 five-minute assets",
			"≤ $0.30",
			`$${five.bill_per_10k.toFixed(3)} (backoff plan); $${fiveAdaptive?.bill_per_10k.toFixed(3)} (adaptive, model learned); in a busy deployment $${five.busy.bill_per_10k.toFixed(3)} / $${fiveAdaptive?.busy.bill_per_10k.toFixed(3)}${(r.cost.streams ?? []).map((st) => `; adaptive, a stream of one every ${streamSpacing(st)}, measured: $${st.bill_per_10k.toFixed(3)}`).join("")}`,
		]);
	}
	if (sim) {
		const ratio = (s, st, key) =>
			(find(s, st)?.[key] ?? Number.NaN) / (find(s, "backoff")?.[key] ?? Number.NaN);
		rows.push([
			"slow type (videos): calls ÷ backoff's at delay ≤ backoff's, or delay ÷ backoff's at its calls",
			"≤ 0.5",
			`calls ${ratio("slow", "adaptive", "callsPerAsset").toFixed(2)} at delay ${ratio("slow", "adaptive", "meanDelayMs").toFixed(2)}`,
		]);
		rows.push([
			"quick type (images): mean delay ÷ backoff's, at calls ≤ backoff's",
			"≤ 0.5",
			`delay ${ratio("quick", "adaptive", "meanDelayMs").toFixed(2)} at calls ${ratio("quick", "adaptive", "callsPerAsset").toFixed(2)}`,
		]);
		rows.push([
			"worst delay after an asset finishes",
			"≤ POLL_MAX_MS",
			`${(Math.max(...sim.map((x) => x.maxDelayMs)) / 1000).toFixed(1)} s (POLL_MAX_MS 60 s)`,
		]);
	}
	if (r.budget && !r.budget.error) {
		const f = r.budget.budgeted.first_phase;
		rows.push([
			"calls/s to the upstream under UPSTREAM_MAX_RPS, any 1 s window",
			`≤ 1.3 × ${BUDGET.maxRps} = ${1.3 * BUDGET.maxRps}`,
			`${f.peak_1s_exact} (${(f.peak_1s_exact / BUDGET.maxRps).toFixed(2)} ×); without a budget ${r.budget.baseline.peak_1s_exact}`,
		]);
		rows.push([
			"share of calls answered 429 when the upstream tightens below the budget, after 10 s",
			"≤ 20 %",
			`${pct(r.budget.budgeted.tightened.after_10s.share_429)} (first 10 s: ${pct(r.budget.budgeted.tightened.first_10s.share_429)}); without a budget ${pct(r.budget.baseline.share_429)}`,
		]);
	}
	return rows;
}

function targetsReport(rows) {
	const w = Math.max(...rows.map(([k]) => k.length));
	return [
		"issue 11's targets, from this run:",
		"",
		`| ${"figure".padEnd(w)} | target | this run |`,
		`| ${"-".repeat(w)} | --- | --- |`,
		...rows.map(([k, t, v]) => `| ${k.padEnd(w)} | ${t} | ${v} |`),
	].join("\n");
}

const only = process.argv.slice(2);
log("schedule simulator (backoff, fixed and adaptive over five distributions)");
const simulation = await scheduleSimulation();
if (only.includes("simulate")) {
	console.log(simulation.report ?? simulation.error);
	process.exit(simulation.report ? 0 : 1);
}
log("cost meter: whole lifecycles inside workerd (test/cost/lifecycle.test.ts)");
const cost = costMeter();
if (only.includes("cost")) {
	console.log(costReport(cost));
	process.exit(cost.error ? 1 : 0);
}

// ---- the receiver outage: what a dead receiver costs, and how soon it is caught up -------------

/**
 * 100 watches on 100 assets turn Active together while their receiver (one origin) refuses
 * connections for OUTAGE_MS. Counted from the service's own watch views once all are delivered:
 * failed attempts beyond each watch's first, and the time from the receiver's return to the last
 * delivery it got. Without the circuit each watch would retry on its schedule throughout the
 * outage; that count is worked out from the schedule (not measured) beside the measured one.
 */
async function receiverOutage(startBench) {
	const orx = await startReceiver({ secret: secrets.WEBHOOK_SECRET });
	const handle = await startBench(OUTAGE_VARS);
	const rt = handle.rt;
	try {
		const ids = Array.from({ length: OUTAGE_WATCHES }, (_, i) => `bench-outage-${i}`);
		for (const id of ids) crun.script(id, { processingMs: 3000 });
		log(`receiver outage: ${OUTAGE_WATCHES} watches, their receiver down for ${OUTAGE_MS / 1000} s from now`);
		await orx.down();
		const downAt = Date.now();
		const watches = await registerAll(
			rt,
			ids.map((id, i) => ({ asset_id: id, callback_url: `${orx.url}/outage/${i}` })),
			1,
		);
		await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
		// Mid-outage, as GET /v1/receivers shows it.
		const origin = new URL(orx.url).origin;
		const during =
			(await (await rt.fetch("/v1/receivers")).json()).receivers?.find((r) => r.origin === origin) ?? null;
		await orx.up();
		const upAt = Date.now();
		log("receiver back; waiting for every delivery");
		const deadline = upAt + 120_000;
		const arrived = () =>
			new Set(
				orx
					.deliveries()
					.filter((d) => d.status === 200)
					.map((d) => d.webhookId),
			);
		while (arrived().size < OUTAGE_WATCHES && Date.now() < deadline) await sleep(100);
		const lastDelivery = Math.max(
			...orx
				.deliveries()
				.filter((d) => d.status === 200)
				.map((d) => d.at),
		);
		// The receiver has them all; the service records each answer a moment after sending it.
		const read = () => pool(watches, 8, async (w) => (await rt.fetch(`/v1/watches/${w.id}`)).json());
		let views = await read();
		while (views.some((v) => v.state !== "delivered") && Date.now() < deadline) {
			await sleep(250);
			views = await read();
		}
		const delivered = views.filter((v) => v.state === "delivered");
		// Failed attempts: all but the one that delivered. A watch held before its first attempt made none
		// then, and the probes (sent through waiting watches, in turn) are counted on the watch they used.
		const failedAttempts = delivered.reduce((n, v) => n + v.delivery.attempts - 1, 0);
		const beyondFirst = delivered.reduce((n, v) => n + Math.max(0, v.delivery.attempts - 2), 0);
		const firstFailed = delivered.filter((v) => v.delivery.attempts >= 2).length;
		const schedule = OUTAGE_VARS.DELIVERY_SCHEDULE_S.split(",").map(Number);
		let withoutCircuit = 0;
		for (let at = 0, k = 0; k < schedule.length; k++) {
			at += schedule[k] * 1000;
			if (at < OUTAGE_MS) withoutCircuit++;
		}
		const probeMs = Number(OUTAGE_VARS.RECEIVER_PROBE_S) * 1000;
		return {
			watches: OUTAGE_WATCHES,
			outage_ms: OUTAGE_MS,
			settings: {
				DELIVERY_SCHEDULE_S: OUTAGE_VARS.DELIVERY_SCHEDULE_S,
				RECEIVER_TRIP_FAILURES: Number(OUTAGE_VARS.RECEIVER_TRIP_FAILURES),
				RECEIVER_PROBE_S: Number(OUTAGE_VARS.RECEIVER_PROBE_S),
			},
			delivered: delivered.length,
			failed_attempts: failedAttempts,
			watches_with_a_failed_attempt: firstFailed,
			attempts_beyond_first: beyondFirst,
			attempts_beyond_first_target:
				Number(OUTAGE_VARS.RECEIVER_TRIP_FAILURES) + Math.ceil(OUTAGE_MS / probeMs),
			attempts_beyond_first_without_circuit: withoutCircuit * OUTAGE_WATCHES,
			return_to_last_delivery_ms: Number.isFinite(lastDelivery) ? lastDelivery - upAt : null,
			return_to_last_delivery_target_ms: probeMs + 2000,
			origin_during_outage: during && {
				state: during.state,
				consecutive_failures: during.consecutive_failures,
				pending_deliveries: during.pending_deliveries,
			},
		};
	} finally {
		await handle.dispose();
		await orx.close();
	}
}

const outageRow = (o) => [
	`receiver down ${o.outage_ms / 1000} s, ${o.watches} watches due`,
	`${o.attempts_beyond_first} failed attempts beyond each watch's first (target ≤ ${o.attempts_beyond_first_target}; without the circuit ${o.attempts_beyond_first_without_circuit}, from the schedule; ${o.failed_attempts} failed in all, by ${o.watches_with_a_failed_attempt} watches); last delivery ${fmtMs(o.return_to_last_delivery_ms)} after it came back (target ≤ ${fmtMs(o.return_to_last_delivery_target_ms)}); ${o.delivered}/${o.watches} delivered`,
];
/** Tab-indented with short arrays of numbers on one line, as the repository's formatter writes JSON. */
function resultsJson(r) {
	const json = JSON.stringify(r, null, "\t").replace(
		/\[\n\s*([^[\]{}]*?)\n\s*\]/g,
		(_, items) => `[${items.split(/,\n\s*/).join(", ")}]`,
	);
	return `${json}\n`;
}

function fmtMs(ms) {
	return ms === null || ms === undefined ? "—" : `${(ms / 1000).toFixed(1)} s`;
}

// ---- the run -------------------------------------------------------------------------------

// Local workerd gives every Durable Object its own SQLite file and fsyncs it; on a VM disk that
// alone caps new objects at a few dozen a second, which says more about the disk than about the
// service. The state goes to memory (tmpfs) where there is one; BENCH_PERSIST_DIR picks a folder.
const persistRoot = process.env.BENCH_PERSIST_DIR ?? (existsSync("/dev/shm") ? "/dev/shm" : tmpdir());

const secrets = localSecrets({ crunApiKey: "bench-key", tokens: ["bench-token"] });
const crun = await startCrunSim({ apiKey: secrets.CRUN_API_KEY, defaultProcessingMs: PROCESSING_FOREVER_MS });
const rx = await startReceiver({ secret: secrets.WEBHOOK_SECRET });
const sweepLines = [];
const stderrTail = [];
const live = new Set();

async function startBenchRuntime(vars) {
	const persistDir = mkdtempSync(join(persistRoot, "seedance-bench-"));
	const rt = await startRuntime({
		vars: { ...vars, CRUN_API_BASE: crun.url },
		rateLimitPerMinute: BENCH_RATE_LIMIT_PER_MINUTE,
		secrets,
		persistDir,
		onLog(line, stream) {
			if (line.includes('"msg":"sweep"')) sweepLines.push(line);
			if (stream === "stderr") {
				stderrTail.push(line);
				if (stderrTail.length > 30) stderrTail.shift();
			}
		},
	});
	const handle = {
		rt,
		async dispose() {
			live.delete(handle);
			await rt.dispose();
			rmSync(persistDir, { recursive: true, force: true });
		},
	};
	live.add(handle);
	return handle;
}

const results = {
	date: new Date().toISOString(),
	machine: machine(),
	settings: {},
	simulate: simulation.run ?? { error: simulation.error },
	cost,
};

if (only.includes("budget")) {
	const budget = await measureBudget({ log, persistRoot }).catch((err) => ({
		error: err?.stack ?? String(err),
	}));
	console.log(budgetReport(budget));
	await Promise.allSettled([crun.close(), rx.close()]);
	process.exit(budget.error ? 1 : 0);
}

async function shutdown() {
	for (const handle of [...live]) await handle.dispose();
	await Promise.allSettled([crun.close(), rx.close()]);
}
process.once("SIGINT", () => shutdown().then(() => process.exit(130)));

if (process.argv.slice(2).includes("outage")) {
	// `npm run bench -- outage`: this section alone; its figures replace the same in results.json.
	try {
		const outage = await receiverOutage(startBenchRuntime);
		const [k, v] = outageRow(outage);
		console.log(`| ${k} | ${v} |`);
		const path = join(ROOT, "bench", "results.json");
		const previous = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
		const merged = { ...previous, receiver_outage: { date: new Date().toISOString(), ...outage } };
		writeFileSync(path, resultsJson(merged));
	} finally {
		await shutdown();
	}
	process.exit(0);
}

try {
	results.settings = {
		...VARS,
		throughput_phase:
			"as deployed: wrangler.toml's poll settings, strategy and upstream budget (ALLOW_PRIVATE_CALLBACKS=loopback on top)",
		rate_limit_per_minute: BENCH_RATE_LIMIT_PER_MINUTE,
		memory_phase: { POLL_INITIAL_MS: MEMORY_VARS.POLL_INITIAL_MS, POLL_MAX_MS: MEMORY_VARS.POLL_MAX_MS },
		runtime: `bundled worker under miniflare (one workerd process), SQLite Durable Objects persisted under ${persistRoot === "/dev/shm" ? "/dev/shm (tmpfs)" : "BENCH_PERSIST_DIR or the temp folder"}`,
		load_average_at_start: loadavg().map((n) => Math.round(n * 100) / 100),
		load: `autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per measurement, each route in ${PAIRED_ROUNDS} turns with /healthz, loopback; load generator, simulator and receiver share the machine`,
	};
	// ---- throughput per route as deployed, then the object calls each request makes ----
	log("starting a runtime with the deployed settings (throughput per route)");
	const deployed = await startBenchRuntime(DEPLOYED_VARS);
	results.throughput = await measureRoutes(deployed.rt, { durationS: DURATION_S, tag: "bench" });
	await deployed.dispose();
	log("starting a runtime that counts object calls (BENCH_COUNT_OBJECT_CALLS; never set in production)");
	const counting = await startBenchRuntime({ ...DEPLOYED_VARS, BENCH_COUNT_OBJECT_CALLS: "true" });
	const counted = await measureRoutes(counting.rt, { durationS: COUNT_DURATION_S, tag: "count" });
	results.object_calls = Object.fromEntries(
		Object.entries(counted).map(([route, f]) => [route, f.object_calls]),
	);
	for (const figures of Object.values(results.throughput)) delete figures.object_calls;
	await counting.dispose();

	log("starting a runtime with quick polling (delay, calls, and watched lookups under checks every ≤ 5 s)");
	const speed = await startBenchRuntime(VARS);
	let rt = speed.rt;
	// Watched lookups again, on assets checked every POLL_MAX_MS = 5 s: how much a frequent
	// schedule (each check forgets the kept answer) takes from them.
	const quickLookups = await measureRoutes(rt, {
		durationS: DURATION_S,
		tag: "quick",
		only: ["watched_lookups"],
	});
	results.watched_lookups_quick_polling = quickLookups.watched_lookups;
	delete results.watched_lookups_quick_polling.object_calls;
	const callback = (path) => `${rx.url}${path}`;

	// ---- notification delay ----
	log(`registering ${DELAY_ASSETS} assets that stay Processing until flipped`);
	const delayIds = Array.from({ length: DELAY_ASSETS }, (_, i) => `bench-delay-${i}`);
	for (const id of delayIds) crun.script(id, { processingMs: PROCESSING_FOREVER_MS });
	await registerAll(
		rt,
		delayIds.map((id) => ({ asset_id: id, callback_url: callback("/bench/delay") })),
		2,
	);
	log(
		`registering ${QUICK_ASSETS} quick assets (Active ${QUICK_PROCESSING_MS / 1000} s after their first check)`,
	);
	const quickIds = Array.from({ length: QUICK_ASSETS }, (_, i) => `bench-quick-${i}`);
	for (const id of quickIds) crun.script(id, { processingMs: QUICK_PROCESSING_MS });
	await registerAll(
		rt,
		quickIds.map((id) => ({ asset_id: id, callback_url: callback("/bench/quick") })),
		1,
	);
	// Each flip falls RAMP_MS after that asset's own first check plus its own share of one full
	// interval, so flips are spread evenly over every asset's poll phase, whatever the order in
	// which the assets were registered and first checked.
	const firstChecked = Date.now() + 30_000;
	while (delayIds.some((id) => !crun.asset(id)?.firstQueryAt) && Date.now() < firstChecked) await sleep(100);
	const plan = delayIds
		.map((id, i) => ({ id, at: crun.asset(id).firstQueryAt + RAMP_MS + (i / DELAY_ASSETS) * FLIP_SPREAD_MS }))
		.sort((a, b) => a.at - b.at);
	log(
		`flipping them to Active ${RAMP_MS / 1000}–${(RAMP_MS + FLIP_SPREAD_MS) / 1000} s after their first checks, once their interval is POLL_MAX_MS`,
	);
	const flippedAt = new Map();
	for (const { id, at } of plan) {
		if (at > Date.now()) await sleep(at - Date.now());
		flippedAt.set(id, crun.flip(id, "Active").flippedAt);
	}
	const deadline = Date.now() + 60_000;
	const delivered = () => rx.deliveries().filter((d) => d.path === "/bench/delay" && d.verified);
	while (new Set(delivered().map((d) => d.json?.data?.asset_id)).size < DELAY_ASSETS && Date.now() < deadline)
		await sleep(200);
	const firstArrival = new Map();
	for (const d of delivered()) {
		const id = d.json?.data?.asset_id;
		if (!firstArrival.has(id)) firstArrival.set(id, d.at);
	}
	const delays = delayIds
		.filter((id) => firstArrival.has(id))
		.map((id) => firstArrival.get(id) - flippedAt.get(id))
		.sort((a, b) => a - b);
	const maxDelay = delays.at(-1) ?? null;
	results.delay = {
		assets: DELAY_ASSETS,
		notified: delays.length,
		p50_ms: percentile(delays, 50),
		p95_ms: percentile(delays, 95),
		p99_ms: percentile(delays, 99),
		max_ms: maxDelay,
		p50_of_poll_max: percentile(delays, 50) / POLL_MAX_MS,
		p95_of_poll_max: percentile(delays, 95) / POLL_MAX_MS,
		p99_of_poll_max: percentile(delays, 99) / POLL_MAX_MS,
	};

	// ---- upstream calls per asset, beside a fixed-interval poller with the same worst case ----
	let backoffCalls = 0;
	let fixedCalls = 0;
	let processingMs = 0;
	for (const id of delayIds) {
		const a = crun.asset(id);
		const processing = flippedAt.get(id) - a.firstQueryAt;
		backoffCalls += a.calls;
		processingMs += processing;
		// Checks at 0, I, 2I, …: the first at or after the flip sees it.
		fixedCalls += Math.ceil(processing / maxDelay) + 1;
	}
	results.upstream_calls = {
		per_asset: backoffCalls / DELAY_ASSETS,
		fixed_interval_ms: maxDelay,
		fixed_per_asset: fixedCalls / DELAY_ASSETS,
		mean_processing_ms: Math.round(processingMs / DELAY_ASSETS),
	};

	// The quick cohort: Active QUICK_PROCESSING_MS after its first check (the simulator's clock).
	const quickArrival = new Map();
	for (const d of rx.deliveries()) {
		const id = d.json?.data?.asset_id;
		if (d.path === "/bench/quick" && d.verified && !quickArrival.has(id)) quickArrival.set(id, d.at);
	}
	const quickDelays = [];
	let quickCalls = 0;
	for (const id of quickIds) {
		const a = crun.asset(id);
		quickCalls += a.calls;
		if (quickArrival.has(id)) quickDelays.push(quickArrival.get(id) - (a.firstQueryAt + QUICK_PROCESSING_MS));
	}
	quickDelays.sort((a, b) => a - b);
	// The same fixed poller sees the asset at its first check at or after QUICK_PROCESSING_MS.
	const fixedQuickChecks = Math.ceil(QUICK_PROCESSING_MS / maxDelay);
	results.quick = {
		assets: QUICK_ASSETS,
		processing_ms: QUICK_PROCESSING_MS,
		notified: quickDelays.length,
		p50_ms: percentile(quickDelays, 50),
		p95_ms: percentile(quickDelays, 95),
		per_asset_calls: quickCalls / QUICK_ASSETS,
		fixed_delay_ms: fixedQuickChecks * maxDelay - QUICK_PROCESSING_MS,
		fixed_per_asset_calls: fixedQuickChecks + 1,
	};

	await speed.dispose();

	// ---- memory with 10,000 watched assets, on a fresh runtime ----
	log("starting a fresh runtime for the memory measurement (assets checked every 10 minutes)");
	rt = (await startBenchRuntime(MEMORY_VARS)).rt;
	await sleep(500);
	const baseline = workerdMemory(rt);
	const baselineFiles = openFiles(rt);
	log(`registering ${MEMORY_ASSETS} watched assets (batches of ${BATCH})`);
	const stopSampling = sampleMemory(rt);
	const memStart = Date.now();
	const callsBefore = crun.stats().calls.total;
	await registerAll(
		rt,
		Array.from({ length: MEMORY_ASSETS }, (_, i) => ({
			asset_id: `bench-mem-${i}`,
			callback_url: callback("/bench/mem"),
		})),
		2,
	);
	const registerMs = Date.now() - memStart;
	log(`registered in ${(registerMs / 1000).toFixed(1)} s; sampling for ${MEMORY_SETTLE_MS / 1000} s more`);
	await sleep(MEMORY_SETTLE_MS);
	const mem = stopSampling();
	const probe = await (await rt.fetch(`/v1/assets/bench-mem-${MEMORY_ASSETS - 1}`)).json();
	results.memory = {
		watched_assets: MEMORY_ASSETS,
		baseline_rss_mib: baseline.rssKiB / 1024,
		peak_rss_mib: mem.peakRssKiB / 1024,
		vm_hwm_mib: mem.hwmKiB / 1024,
		peak_open_files: mem.peakOpenFiles,
		// SQLite database, WAL and shared memory: three files per Durable Object in memory.
		peak_objects_in_memory_approx: Math.round((mem.peakOpenFiles - baselineFiles) / 3),
		open_file_limit: openFileLimit(rt),
		register_10k_s: registerMs / 1000,
		registrations_per_s_batched: MEMORY_ASSETS / (registerMs / 1000),
		// A first check that the overloaded runtime could not send within UPSTREAM_TIMEOUT_MS is a
		// transient error: the asset is checked again on its schedule.
		first_checks_answered: crun.stats().calls.total - callsBefore,
		last_asset_watched: probe.watched === true,
	};

	// ---- the cron sweep over those watches, when the sweep does work ----
	log("triggering the cron sweep");
	sweepLines.length = 0;
	const sweepRes = await rt.scheduled();
	const sweepDeadline = Date.now() + 60_000;
	while (sweepLines.length === 0 && Date.now() < sweepDeadline) await sleep(100);
	let sweep = null;
	if (sweepLines.length > 0) {
		const line = sweepLines[0];
		try {
			sweep = JSON.parse(line.slice(line.indexOf("{")));
		} catch {}
	}
	results.sweep =
		sweep && (sweep.shards > 0 || sweep.examined > 0)
			? { ...sweep, watches: MEMORY_ASSETS }
			: { available: false, scheduled_status: sweepRes.status, line: sweep };

	// ---- a receiver down for a minute, on a fresh runtime ----
	results.receiver_outage = await receiverOutage(startBenchRuntime);
	await [...live].at(-1)?.dispose();

	// ---- the upstream budget: 400 assets against the simulator's account-wide limit ----
	log("upstream budget: 400 assets against a rate-limited simulator");
	results.budget = await measureBudget({ log, persistRoot });
} catch (err) {
	console.error(
		`bench failed: ${err?.stack ?? err}\nthe runtime's last stderr lines:\n${stderrTail.join("\n")}`,
	);
	process.exitCode = 1;
} finally {
	await shutdown();
}
if (process.exitCode) process.exit();

// ---- report --------------------------------------------------------------------------------

const r = results;
const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? "—" : n.toFixed(digits));
/** A route's rate beside the /healthz turns it was measured with. */
const rateText = (t) =>
	`${fmt(t.rps)} req/s = ${fmt(t.ratio_to_healthz, 2)} × healthz (${fmt(t.healthz_before?.rps)} req/s in the turns between; p99 ${t.latency_p99_ms} ms, non-2xx ${t.non_2xx})`;
const rows = [
	[
		"GET /healthz (baseline)",
		`${fmt(r.throughput.healthz.rps)} req/s (p50 ${r.throughput.healthz.latency_p50_ms} ms, p99 ${r.throughput.healthz.latency_p99_ms} ms)`,
	],
	...[
		["GET /v1/assets/:id (watched, Processing)", "watched_lookups"],
		["GET /v1/assets/:id (finished)", "finished_lookups"],
		["POST /v1/watches (asset already watched)", "registrations_existing_asset"],
		["POST /v1/watches (new asset each)", "registrations"],
	].map(([label, key]) => {
		const t = r.throughput[key];
		const c = r.object_calls?.[key];
		const calls = c
			? `; object calls per answer: ${fmt(c.request_path_mean, 2)} on its path (max ${c.request_path_max}), ${fmt(c.all_per_answer, 2)} in all`
			: "";
		return [label, `${rateText(t)}${calls}`];
	}),
	[
		"GET /v1/assets/:id (watched), checks every 5 s",
		`${rateText(r.watched_lookups_quick_polling)}: the quick-polling runtime, where each asset's kept answer lasts until its next check, 5 s at most`,
	],
	[
		`notification delay, ${r.delay.notified}/${r.delay.assets} flips`,
		`p50 ${fmt(r.delay.p50_ms)} ms · p95 ${fmt(r.delay.p95_ms)} ms · p99 ${fmt(r.delay.p99_ms)} ms (max ${fmt(r.delay.max_ms)} ms)`,
	],
	[
		"delay ÷ POLL_MAX_MS",
		`p50 ${fmt(r.delay.p50_of_poll_max, 2)} · p95 ${fmt(r.delay.p95_of_poll_max, 2)} · p99 ${fmt(r.delay.p99_of_poll_max, 2)}`,
	],
	[
		"upstream calls per asset",
		`${fmt(r.upstream_calls.per_asset, 1)} (fixed ${fmt(r.upstream_calls.fixed_interval_ms)} ms poller: ${fmt(r.upstream_calls.fixed_per_asset, 1)}) over ${fmt(r.upstream_calls.mean_processing_ms / 1000, 1)} s processing`,
	],
	[
		`quick assets (Active ${r.quick.processing_ms / 1000} s after 1st check)`,
		`delay p50 ${fmt(r.quick.p50_ms)} ms · p95 ${fmt(r.quick.p95_ms)} ms with ${fmt(r.quick.per_asset_calls, 1)} calls/asset (fixed ${fmt(r.upstream_calls.fixed_interval_ms)} ms poller: ${fmt(r.quick.fixed_delay_ms)} ms with ${r.quick.fixed_per_asset_calls})`,
	],
	[
		`workerd RSS, ${r.memory.watched_assets.toLocaleString("en")} watched assets`,
		`peak ${fmt(r.memory.peak_rss_mib)} MiB (VmHWM ${fmt(r.memory.vm_hwm_mib)} MiB; idle ${fmt(r.memory.baseline_rss_mib)} MiB; ≈${r.memory.peak_objects_in_memory_approx} objects in memory at most)`,
	],
	[
		"registering them (batches of 100)",
		`${fmt(r.memory.register_10k_s, 1)} s = ${fmt(r.memory.registrations_per_s_batched)} watches/s (${r.memory.first_checks_answered} first checks reached the simulator)`,
	],
	[
		"cron sweep",
		r.sweep.available === false
			? "not measured: the sweep does no work yet"
			: `examined ${r.sweep.examined} rows in ${r.sweep.ms} ms over ${r.sweep.watches.toLocaleString("en")} watches (${r.sweep.shards} shards; rearmed ${r.sweep.rearmed}, expired ${r.sweep.expired}, purged ${r.sweep.purged})`,
	],
	outageRow(r.receiver_outage),
];
const m = r.machine;
console.log(
	`\nseedance-asset-watcher bench — ${r.date.slice(0, 10)}, ${m.nproc} cores (${m.cpu}), ${m.memory_gib} GiB, Node ${m.node}, workerd ${m.workerd}`,
);
console.log(
	`settings: throughput per route and object calls as deployed (wrangler.toml's poll settings, adaptive, UPSTREAM_MAX_RPS 20); delay, calls and the second watched-lookup figure with POLL_INITIAL_MS=${VARS.POLL_INITIAL_MS} POLL_MAX_MS=${VARS.POLL_MAX_MS} POLL_BACKOFF=${VARS.POLL_BACKOFF}; rate limit on (RATE_LIMITER at ${BENCH_RATE_LIMIT_PER_MINUTE}/min, so nothing is refused) (object calls: a second runtime, ${COUNT_DURATION_S} s per route; memory: a fresh runtime, POLL_INITIAL_MS=POLL_MAX_MS=${MEMORY_VARS.POLL_MAX_MS}); ${r.settings.load}; load average at start ${r.settings.load_average_at_start.join(" ")}\n`,
);
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`| ${"figure".padEnd(width)} | value |`);
console.log(`| ${"-".repeat(width)} | --- |`);
for (const [k, v] of rows) console.log(`| ${k.padEnd(width)} | ${v} |`);
console.log(`\n${simulation.report ?? `schedule simulator: ${simulation.error}`}`);
console.log(`\n${costReport(r.cost)}`);
console.log(`\n${budgetReport(r.budget)}`);
r.targets = targets(r).map(([figure, target, value]) => ({ figure, target, value }));
console.log(`\n${targetsReport(targets(r))}`);
r.total_s = (Date.now() - t0) / 1000;
writeFileSync(join(ROOT, "bench", "results.json"), resultsJson(r));
console.log(`\n(${fmt(r.total_s)} s; written to bench/results.json)`);
