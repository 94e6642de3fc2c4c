// Crun upstream simulator: the Seedance asset-info and asset-upload endpoints over real HTTP, with a
// per-asset script (processing time, outcome, time format), a queue of faults answered before the
// normal answers resume, processing times drawn per AssetType from seeded distributions, and an
// account-wide rate limit (429 above N calls in any 1 s window). Tests, the local demo and the
// benchmark point CRUN_API_BASE at it. It owns only in-memory state: every asset, its fault queue,
// call counters, flip times and the limiter's window.
// Usable as a library (startCrunSim) and as a CLI (node sim/crun.mjs --port 8790).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { ControlError, invalid, isMain } from "./shared.mjs";

const ASSET_INFO = "/api/v1/client/job/asset-info";
const ASSET_UPLOAD = "/api/v1/client/job/asset-upload";
const ASSET_TYPES = ["Image", "Video", "Audio"];
const STATUSES = ["Processing", "Active", "Failed"];
const EXTENSIONS = { Image: "png", Video: "mp4", Audio: "mp3" };
const DEFAULT_ERROR = "Asset processing failed: the file could not be decoded";
const BODY_LIMIT = 1 << 20;

// Messages the upstream documents for each code; a fault without its own message uses these.
const MESSAGES = {
	200: "success",
	401: "Unauthorized",
	402: "Insufficient Credits",
	404: "Not Found",
	405: "Method Not Allowed",
	422: "Validation Error",
	429: "Rate Limited",
	455: "Service Unavailable",
	500: "Server Error",
	501: "Generation Failed",
	505: "Feature Disabled",
};

const HTML_PAGE =
	"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n" +
	"<body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n";

const FAULT_KINDS = new Set([
	"error",
	"html",
	"truncated",
	"wrong_shape",
	"unknown_status",
	"slow",
	"hang",
	"reset",
]);
const SCRIPT_KEYS = new Set([
	"processingMs",
	"outcome",
	"errorMessage",
	"name",
	"assetType",
	"timeFormat",
	"faults",
]);

// FNV-1a: a stable, cheap spread of ids over the default asset types and time formats.
function hashId(id) {
	let h = 0x811c9dc5;
	for (let i = 0; i < id.length; i++) {
		h ^= id.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return h >>> 0;
}

// mulberry32 and Box–Muller, as in src/polling/distributions.ts (test/e2e/sim.test.ts compares the two).
function prng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
	};
}

const normal = (rand) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** What issue 11 calls realistic: quick images, slow videos, bimodal audio. */
export const REALISTIC = {
	Image: { kind: "lognormal", medianMs: 30_000, sigma: 0.5 },
	Video: { kind: "lognormal", medianMs: 300_000, sigma: 0.5 },
	Audio: {
		kind: "mixture",
		parts: [
			{ weight: 0.6, of: { kind: "lognormal", medianMs: 20_000, sigma: 0.3 } },
			{ weight: 0.4, of: { kind: "lognormal", medianMs: 240_000, sigma: 0.3 } },
		],
	},
};

const positive = (v) => typeof v === "number" && Number.isFinite(v) && v > 0;
const nonNegative = (v) => typeof v === "number" && Number.isFinite(v) && v >= 0;

function normalizeDistribution(spec, where) {
	if (spec === null || typeof spec !== "object" || Array.isArray(spec))
		throw invalid(`${where}: a distribution is an object with a kind`);
	const only = (...keys) => {
		const extra = Object.keys(spec).filter((k) => k !== "kind" && !keys.includes(k));
		if (extra.length > 0) throw invalid(`${where}: unknown fields ${extra.join(", ")}`);
	};
	switch (spec.kind) {
		case "fixed":
			only("ms");
			if (!nonNegative(spec.ms)) throw invalid(`${where}: fixed needs ms >= 0`);
			return { kind: "fixed", ms: spec.ms };
		case "lognormal":
			only("medianMs", "sigma");
			if (!positive(spec.medianMs) || !nonNegative(spec.sigma))
				throw invalid(`${where}: lognormal needs medianMs > 0 and sigma >= 0`);
			return { kind: "lognormal", medianMs: spec.medianMs, sigma: spec.sigma };
		case "pareto":
			only("minMs", "alpha", "capMs");
			if (
				!positive(spec.minMs) ||
				!positive(spec.alpha) ||
				(spec.capMs !== undefined && !positive(spec.capMs))
			)
				throw invalid(`${where}: pareto needs minMs > 0, alpha > 0 and capMs > 0 if given`);
			return { kind: "pareto", minMs: spec.minMs, alpha: spec.alpha, capMs: spec.capMs };
		case "mixture":
			only("parts");
			if (!Array.isArray(spec.parts) || spec.parts.length === 0 || spec.parts.length > 16)
				throw invalid(`${where}: mixture needs 1 to 16 parts`);
			return {
				kind: "mixture",
				parts: spec.parts.map((p, i) => {
					if (p === null || typeof p !== "object" || !positive(p.weight))
						throw invalid(`${where}.parts[${i}]: each part is { weight > 0, of }`);
					return { weight: p.weight, of: normalizeDistribution(p.of, `${where}.parts[${i}].of`) };
				}),
			};
		case "shift":
			only("before", "after", "afterAssets");
			if (!Number.isInteger(spec.afterAssets) || spec.afterAssets < 0)
				throw invalid(`${where}: shift needs afterAssets, a whole number >= 0`);
			return {
				kind: "shift",
				before: normalizeDistribution(spec.before, `${where}.before`),
				after: normalizeDistribution(spec.after, `${where}.after`),
				afterAssets: spec.afterAssets,
			};
		default:
			throw invalid(`${where}: kind is fixed, lognormal, pareto, mixture or shift`);
	}
}

/** `{ Image?, Video?, Audio? }` → normalized; null for a type means "back to defaultProcessingMs". */
function normalizeDistributions(map) {
	if (map === "realistic") return structuredClone(REALISTIC);
	if (map === null || typeof map !== "object" || Array.isArray(map))
		throw invalid('distributions map Image, Video or Audio to a distribution (or are "realistic")');
	const out = {};
	for (const [type, spec] of Object.entries(map)) {
		if (!ASSET_TYPES.includes(type)) throw invalid(`distributions: ${type} is not Image, Video or Audio`);
		out[type] = spec === null ? null : normalizeDistribution(spec, type);
	}
	return out;
}

/** One draw in ms; `nth` counts earlier assets of the type (for a shift). */
function draw(spec, rand, nth) {
	switch (spec.kind) {
		case "fixed":
			return spec.ms;
		case "lognormal":
			return spec.medianMs * Math.exp(spec.sigma * normal(rand));
		case "pareto":
			return Math.min(spec.capMs ?? Number.POSITIVE_INFINITY, spec.minMs / (1 - rand()) ** (1 / spec.alpha));
		case "mixture": {
			let u = rand() * spec.parts.reduce((n, p) => n + p.weight, 0);
			for (const p of spec.parts) {
				if (u < p.weight) return draw(p.of, rand, nth);
				u -= p.weight;
			}
			return draw(spec.parts.at(-1).of, rand, nth);
		}
		case "shift":
			return draw(nth < spec.afterAssets ? spec.before : spec.after, rand, nth);
	}
}

/** `N` or `{ perSecond, retryAfter }` → the limiter's settings; 0 or null turns it off. */
function normalizeRateLimit(value) {
	if (value === null || value === undefined || value === 0) return { perSecond: 0, retryAfter: true };
	const v = typeof value === "number" ? { perSecond: value } : value;
	if (v === null || typeof v !== "object" || Array.isArray(v))
		throw invalid("rate limit is { perSecond, retryAfter? }");
	const extra = Object.keys(v).filter((k) => k !== "perSecond" && k !== "retryAfter");
	if (extra.length > 0) throw invalid(`unknown rate limit fields: ${extra.join(", ")}`);
	if (!Number.isInteger(v.perSecond) || v.perSecond < 0)
		throw invalid("perSecond is a whole number >= 0 (0: no limit)");
	if (v.retryAfter !== undefined && typeof v.retryAfter !== "boolean")
		throw invalid("retryAfter is true or false");
	return { perSecond: v.perSecond, retryAfter: v.retryAfter ?? true };
}

/** Options from the environment, for the CLI and npm start: CRUN_SIM_DISTRIBUTIONS, _RATE_LIMIT, _SEED. */
export function simOptionsFromEnv(env = process.env) {
	const out = {};
	const dist = env.CRUN_SIM_DISTRIBUTIONS?.trim();
	if (dist) out.distributions = dist === "realistic" ? dist : JSON.parse(dist);
	if (env.CRUN_SIM_RATE_LIMIT?.trim()) out.rateLimit = Number(env.CRUN_SIM_RATE_LIMIT);
	if (env.CRUN_SIM_SEED?.trim()) out.seed = Number(env.CRUN_SIM_SEED);
	return out;
}

function isStatusCode(n) {
	return Number.isInteger(n) && n >= 100 && n <= 599;
}

function normalizeFault(fault) {
	if (fault === null || typeof fault !== "object" || Array.isArray(fault)) {
		throw invalid("a fault must be an object");
	}
	const kind = fault.kind ?? "error";
	if (!FAULT_KINDS.has(kind)) throw invalid(`unknown fault kind ${JSON.stringify(kind)}`);
	for (const key of ["httpStatus", "bodyCode"]) {
		if (fault[key] !== undefined && !isStatusCode(fault[key]))
			throw invalid(`fault ${key} must be an HTTP status`);
	}
	switch (kind) {
		case "error": {
			const status = fault.status ?? fault.bodyCode ?? fault.httpStatus;
			if (!isStatusCode(status)) throw invalid("an error fault needs a numeric status");
			if (fault.retryAfter !== undefined && typeof fault.retryAfter !== "string") {
				throw invalid("retryAfter is the raw Retry-After header value, a string");
			}
			const bodyCode = fault.bodyCode ?? status;
			return {
				kind,
				httpStatus: fault.httpStatus ?? status,
				bodyCode,
				message: typeof fault.message === "string" ? fault.message : (MESSAGES[bodyCode] ?? "Error"),
				retryAfter: fault.retryAfter,
			};
		}
		case "html":
			return { kind, httpStatus: fault.httpStatus ?? 502 };
		case "truncated":
		case "wrong_shape":
			return { kind, httpStatus: fault.httpStatus ?? 200 };
		case "unknown_status":
			if (fault.status !== undefined && typeof fault.status !== "string") {
				throw invalid("unknown_status takes the Status string to answer");
			}
			return { kind, status: fault.status ?? "Weird" };
		case "slow":
			if (typeof fault.ms !== "number" || !(fault.ms >= 0)) throw invalid("a slow fault needs ms >= 0");
			return { kind, ms: fault.ms };
		default:
			return { kind };
	}
}

function normalizeScript(script) {
	if (script === null || typeof script !== "object" || Array.isArray(script)) {
		throw invalid("a script must be a JSON object");
	}
	const unknown = Object.keys(script).filter((k) => !SCRIPT_KEYS.has(k));
	if (unknown.length > 0) throw invalid(`unknown script fields: ${unknown.join(", ")}`);
	const out = {};
	if (script.processingMs !== undefined) {
		if (typeof script.processingMs !== "number" || !(script.processingMs >= 0)) {
			throw invalid("processingMs must be a number >= 0");
		}
		out.processingMs = script.processingMs;
	}
	if (script.outcome !== undefined) {
		if (script.outcome !== "Active" && script.outcome !== "Failed")
			throw invalid("outcome is Active or Failed");
		out.outcome = script.outcome;
	}
	if (script.assetType !== undefined) {
		if (!ASSET_TYPES.includes(script.assetType)) throw invalid("assetType is Image, Video or Audio");
		out.assetType = script.assetType;
	}
	if (script.timeFormat !== undefined) {
		if (script.timeFormat !== "iso" && script.timeFormat !== "unix")
			throw invalid("timeFormat is iso or unix");
		out.timeFormat = script.timeFormat;
	}
	for (const key of ["errorMessage", "name"]) {
		if (script[key] !== undefined) {
			if (typeof script[key] !== "string") throw invalid(`${key} must be a string`);
			out[key] = script[key];
		}
	}
	if (script.faults !== undefined) {
		if (!Array.isArray(script.faults)) throw invalid("faults must be an array");
		out.faults = script.faults.map(normalizeFault);
	}
	return out;
}

function formatTime(ms, format) {
	return format === "unix" ? Math.floor(ms / 1000) : new Date(ms).toISOString();
}

function errorEnvelope(code, message) {
	return { code, message: message ?? MESSAGES[code] ?? "Error", data: null };
}

function send(res, status, body, headers) {
	if (res.destroyed || res.writableEnded) return;
	const text = typeof body === "string" ? body : JSON.stringify(body);
	res.writeHead(status, {
		"content-type": "application/json; charset=utf-8",
		"content-length": Buffer.byteLength(text),
		...headers,
	});
	res.end(text);
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let size = 0;
		req.on("data", (chunk) => {
			size += chunk.length;
			if (size > BODY_LIMIT) {
				reject(new ControlError(413, "body too large"));
				req.destroy();
			} else {
				chunks.push(chunk);
			}
		});
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
	});
}

async function readJson(req) {
	const text = await readBody(req);
	try {
		return JSON.parse(text);
	} catch {
		throw invalid("body is not valid JSON");
	}
}

export async function startCrunSim({
	port = 0,
	host = "127.0.0.1",
	apiKey = "sim-key",
	defaultProcessingMs = 3000,
	distributions = {},
	rateLimit = null,
	seed = 1,
	now = Date.now,
} = {}) {
	const assets = new Map();
	const callsByAsset = new Map();
	const flips = new Map();
	const timers = new Set();
	let callsTotal = 0;
	let uploads = 0;
	const initial = {
		distributions: normalizeDistributions(distributions),
		rateLimit: normalizeRateLimit(rateLimit),
	};
	let dists = structuredClone(initial.distributions);
	let limit = { ...initial.rateLimit };
	/** assets created so far per type: a shift's position */
	const createdByType = new Map();
	// The limiter's window: times of the calls answered in the last second; and of every call, for the peak.
	let answered = [];
	let recent = [];
	let limited = 0;
	let peakPerSecond = 0;

	/** A new asset's processing time: its type's distribution (seeded by id) or the default. */
	function processingFor(id, assetType) {
		const nth = createdByType.get(assetType) ?? 0;
		createdByType.set(assetType, nth + 1);
		const spec = dists[assetType];
		if (!spec) return defaultProcessingMs;
		return Math.max(0, Math.round(draw(spec, prng(hashId(`${seed}:${id}`)), nth)));
	}

	function createAsset(id, at, type) {
		const h = hashId(id);
		const assetType = type ?? ASSET_TYPES[h % 3];
		const asset = {
			id,
			name: `${id}.${EXTENSIONS[assetType]}`,
			assetType,
			timeFormat: (h >>> 8) & 1 ? "unix" : "iso",
			processingMs: processingFor(id, assetType),
			outcome: id.toLowerCase().startsWith("fail") ? "Failed" : "Active",
			errorMessage: DEFAULT_ERROR,
			faults: [],
			createdAt: at,
			firstQueryAt: undefined,
			flipped: undefined,
			flippedAt: undefined,
		};
		assets.set(id, asset);
		return asset;
	}

	// The processing clock starts at the first asset-info query, so a script installed long before the
	// watcher first polls still gives the watcher the Processing period it asked for.
	function statusOf(asset, at) {
		if (asset.flipped !== undefined) return asset.flipped;
		if (asset.firstQueryAt === undefined || at - asset.firstQueryAt < asset.processingMs) return "Processing";
		return asset.outcome;
	}

	function assetEnvelope(asset, at, statusOverride) {
		const status = statusOverride ?? statusOf(asset, at);
		const terminal = status === "Active" || status === "Failed";
		const updatedAt = terminal
			? (asset.flippedAt ?? asset.firstQueryAt + asset.processingMs)
			: asset.createdAt;
		const data = {
			AssetId: asset.id,
			Name: asset.name,
			AssetType: asset.assetType,
			Status: status,
			CreateTime: formatTime(asset.createdAt, asset.timeFormat),
			UpdateTime: formatTime(updatedAt, asset.timeFormat),
		};
		if (status === "Failed") {
			data.ErrorMessage = asset.errorMessage;
			return { code: 200, message: asset.errorMessage, data };
		}
		return { code: 200, message: "success", data };
	}

	function view(asset) {
		const t = now();
		return {
			id: asset.id,
			status: statusOf(asset, t),
			name: asset.name,
			assetType: asset.assetType,
			timeFormat: asset.timeFormat,
			processingMs: asset.processingMs,
			outcome: asset.outcome,
			errorMessage: asset.errorMessage,
			pendingFaults: asset.faults.length,
			createdAt: asset.createdAt,
			firstQueryAt: asset.firstQueryAt ?? null,
			flippedAt: asset.flippedAt ?? null,
			calls: callsByAsset.get(asset.id) ?? 0,
		};
	}

	function script(id, s) {
		if (typeof id !== "string" || id === "") throw invalid("asset id must be a non-empty string");
		const normalized = normalizeScript(s ?? {});
		const asset = assets.get(id) ?? createAsset(id, now(), normalized.assetType);
		Object.assign(asset, normalized);
		return view(asset);
	}

	function flip(id, status) {
		if (!STATUSES.includes(status)) throw invalid("status is Processing, Active or Failed");
		const t = now();
		const asset = assets.get(id) ?? createAsset(id, t);
		asset.flipped = status;
		asset.flippedAt = t;
		flips.set(id, t);
		return view(asset);
	}

	function stats() {
		return {
			calls: { total: callsTotal, byAsset: Object.fromEntries(callsByAsset) },
			uploads,
			flips: Object.fromEntries(flips),
			limited,
			peakPerSecond,
		};
	}

	function config() {
		return { defaultProcessingMs, seed, distributions: structuredClone(dists), rateLimit: { ...limit } };
	}

	function setDistributions(map) {
		const next = normalizeDistributions(map);
		dists = map === "realistic" ? next : { ...dists, ...next };
		for (const type of Object.keys(dists)) if (dists[type] === null) delete dists[type];
		return config();
	}

	function setRateLimit(value) {
		limit = normalizeRateLimit(value);
		answered = [];
		return config();
	}

	/** Every account call passes here; false means it was answered 429 (and nothing else happened). */
	function admit(res) {
		const t = now();
		recent.push(t);
		while (recent.length > 0 && recent[0] <= t - 1000) recent.shift();
		peakPerSecond = Math.max(peakPerSecond, recent.length);
		if (limit.perSecond === 0) return true;
		while (answered.length > 0 && answered[0] <= t - 1000) answered.shift();
		if (answered.length < limit.perSecond) {
			answered.push(t);
			return true;
		}
		limited++;
		const headers = limit.retryAfter
			? { "retry-after": String(Math.max(1, Math.ceil((answered[0] + 1000 - t) / 1000))) }
			: undefined;
		send(res, 429, errorEnvelope(429), headers);
		return false;
	}

	/** Forget every asset, counter and flip, and go back to the distributions and limit of the start. */
	function reset() {
		assets.clear();
		callsByAsset.clear();
		flips.clear();
		createdByType.clear();
		callsTotal = 0;
		uploads = 0;
		limited = 0;
		peakPerSecond = 0;
		answered = [];
		recent = [];
		dists = structuredClone(initial.distributions);
		limit = { ...initial.rateLimit };
	}

	function answerFault(req, res, asset, fault) {
		switch (fault.kind) {
			case "error":
				send(
					res,
					fault.httpStatus,
					errorEnvelope(fault.bodyCode, fault.message),
					fault.retryAfter === undefined ? undefined : { "retry-after": fault.retryAfter },
				);
				return;
			case "html":
				if (res.destroyed) return;
				res.writeHead(fault.httpStatus, {
					"content-type": "text/html; charset=utf-8",
					"content-length": Buffer.byteLength(HTML_PAGE),
				});
				res.end(HTML_PAGE);
				return;
			case "truncated": {
				// A complete HTTP message whose JSON body stops halfway: the client must not crash on it.
				const full = JSON.stringify(assetEnvelope(asset, now()));
				send(res, fault.httpStatus, full.slice(0, full.length >> 1));
				return;
			}
			case "wrong_shape":
				send(res, fault.httpStatus, { success: true, result: { id: asset.id, state: "ready", items: [] } });
				return;
			case "unknown_status":
				send(res, 200, assetEnvelope(asset, now(), fault.status));
				return;
			case "slow": {
				const timer = setTimeout(() => {
					timers.delete(timer);
					send(res, 200, assetEnvelope(asset, now()));
				}, fault.ms);
				timers.add(timer);
				return;
			}
			case "hang":
				// Nothing is written; the socket stays open until the client gives up or the sim closes.
				return;
			case "reset":
				req.socket.destroy();
				return;
		}
	}

	function assetInfo(req, res, query) {
		callsTotal++;
		const id = new URLSearchParams(query).get("asset_id") ?? "";
		if (id !== "") callsByAsset.set(id, (callsByAsset.get(id) ?? 0) + 1);
		if (req.headers["x-api-key"] !== apiKey) return send(res, 401, errorEnvelope(401));
		if (!admit(res)) return;
		if (req.method !== "GET") return send(res, 405, errorEnvelope(405));
		if (id === "") return send(res, 422, errorEnvelope(422, "asset_id is required"));
		const t = now();
		let asset = assets.get(id);
		if (asset === undefined) {
			const lower = id.toLowerCase();
			if (lower.startsWith("missing")) return send(res, 404, errorEnvelope(404, "Asset not found"));
			if (lower.startsWith("invalid")) return send(res, 422, errorEnvelope(422, "Invalid asset_id"));
			asset = createAsset(id, t);
		}
		if (asset.firstQueryAt === undefined) asset.firstQueryAt = t;
		if (asset.faults.length > 0) return answerFault(req, res, asset, asset.faults.shift());
		send(res, 200, assetEnvelope(asset, t));
	}

	async function assetUpload(req, res) {
		uploads++;
		if (req.headers["x-api-key"] !== apiKey) return send(res, 401, errorEnvelope(401));
		if (!admit(res)) return;
		if (req.method !== "POST") return send(res, 405, errorEnvelope(405));
		let body;
		try {
			body = JSON.parse(await readBody(req));
		} catch {
			return send(res, 422, errorEnvelope(422, "body must be JSON"));
		}
		const problem = uploadProblem(body);
		if (problem) return send(res, 422, errorEnvelope(422, problem));
		const id = `asset-${randomBytes(8).toString("hex")}`;
		const asset = createAsset(id, now(), body.asset_type);
		asset.name = body.name;
		if (body.name.toLowerCase().startsWith("fail")) asset.outcome = "Failed";
		send(res, 200, { code: 200, message: "success", data: { AssetId: id } });
	}

	async function control(req, res, path) {
		const parts = path.split("/").slice(2);
		const method = req.method;
		if (parts[0] === "stats" && parts.length === 1 && method === "GET") return send(res, 200, stats());
		if (parts[0] === "config" && parts.length === 1 && method === "GET") return send(res, 200, config());
		if (parts[0] === "distributions" && parts.length === 1 && method === "PUT")
			return send(res, 200, setDistributions(await readJson(req)));
		if (parts[0] === "rate-limit" && parts.length === 1 && method === "PUT")
			return send(res, 200, setRateLimit(await readJson(req)));
		if (parts[0] === "reset" && parts.length === 1 && method === "POST") {
			reset();
			return send(res, 200, { ok: true });
		}
		if (parts[0] === "assets") {
			if (parts.length === 1 && method === "PUT") {
				const body = await readJson(req);
				if (body === null || typeof body !== "object" || Array.isArray(body)) {
					throw invalid("body maps asset ids to scripts");
				}
				let count = 0;
				for (const [id, s] of Object.entries(body)) {
					script(id, s);
					count++;
				}
				return send(res, 200, { ok: true, count });
			}
			const id = decodeURIComponent(parts[1] ?? "");
			if (id !== "" && parts.length === 2) {
				if (method === "PUT") return send(res, 200, script(id, await readJson(req)));
				if (method === "GET") {
					const asset = assets.get(id);
					if (asset === undefined) throw new ControlError(404, "asset not scripted or queried yet");
					return send(res, 200, view(asset));
				}
			}
			if (id !== "" && parts.length === 3 && parts[2] === "flip" && method === "POST") {
				const body = await readJson(req);
				return send(res, 200, flip(id, body?.status));
			}
		}
		throw new ControlError(404, `no control route ${method} ${path}`);
	}

	async function handle(req, res) {
		const url = req.url ?? "/";
		const q = url.indexOf("?");
		let path = q === -1 ? url : url.slice(0, q);
		// Tolerate a CRUN_API_BASE written with a trailing slash.
		if (path.includes("//")) path = path.replace(/\/{2,}/g, "/");
		if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
		try {
			if (path === ASSET_INFO) return assetInfo(req, res, q === -1 ? "" : url.slice(q + 1));
			if (path === ASSET_UPLOAD) return await assetUpload(req, res);
			if (path.startsWith("/_sim/")) return await control(req, res, path);
			send(res, 404, errorEnvelope(404));
		} catch (err) {
			if (err instanceof ControlError) return send(res, err.status, { error: err.message });
			send(res, 500, errorEnvelope(500, String(err?.message ?? err)));
		}
	}

	const server = createServer(handle);
	await new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => {
			server.off("error", reject);
			resolve();
		});
	});
	const boundPort = server.address().port;
	const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;

	return {
		url,
		port: boundPort,
		script,
		flip,
		asset(id) {
			const asset = assets.get(id);
			return asset === undefined ? undefined : view(asset);
		},
		stats,
		config,
		setDistributions,
		setRateLimit,
		reset,
		close() {
			for (const timer of timers) clearTimeout(timer);
			timers.clear();
			return new Promise((resolve) => {
				server.close(() => resolve());
				// Hanging requests would otherwise keep close() waiting forever.
				server.closeAllConnections();
			});
		},
	};
}

function uploadProblem(body) {
	if (body === null || typeof body !== "object" || Array.isArray(body)) return "body must be a JSON object";
	const missing = ["name", "asset_type", "asset_url"].filter(
		(k) => typeof body[k] !== "string" || body[k] === "",
	);
	if (missing.length > 0) return `missing or empty: ${missing.join(", ")}`;
	if (!ASSET_TYPES.includes(body.asset_type)) return "asset_type must be Image, Video or Audio";
	try {
		const u = new URL(body.asset_url);
		if (u.protocol !== "http:" && u.protocol !== "https:") return "asset_url must be an http(s) URL";
	} catch {
		return "asset_url must be a URL";
	}
	return undefined;
}

if (isMain(import.meta.url)) {
	const { values } = parseArgs({
		options: {
			port: { type: "string", default: "8790" },
			host: { type: "string", default: "127.0.0.1" },
			"api-key": { type: "string", default: "sim-key" },
			"processing-ms": { type: "string", default: "3000" },
			distributions: { type: "string" },
			"rate-limit": { type: "string" },
			seed: { type: "string" },
		},
	});
	const flags = simOptionsFromEnv({
		CRUN_SIM_DISTRIBUTIONS: values.distributions ?? process.env.CRUN_SIM_DISTRIBUTIONS,
		CRUN_SIM_RATE_LIMIT: values["rate-limit"] ?? process.env.CRUN_SIM_RATE_LIMIT,
		CRUN_SIM_SEED: values.seed ?? process.env.CRUN_SIM_SEED,
	});
	const sim = await startCrunSim({
		port: Number(values.port),
		host: values.host,
		apiKey: values["api-key"],
		defaultProcessingMs: Number(values["processing-ms"]),
		...flags,
	});
	const { distributions, rateLimit } = sim.config();
	const types = Object.keys(distributions);
	console.log(
		`crun sim listening on ${sim.url} (default processing ${values["processing-ms"]} ms` +
			`${types.length > 0 ? `; distributions for ${types.join(", ")}` : ""}` +
			`${rateLimit.perSecond > 0 ? `; rate limit ${rateLimit.perSecond}/s` : ""})`,
	);
	const stop = async () => {
		await sim.close();
		process.exit(0);
	};
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
}
