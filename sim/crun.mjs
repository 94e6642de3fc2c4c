// Crun upstream simulator: the Seedance asset-info and asset-upload endpoints over real HTTP, with a
// per-asset script (processing time, outcome, time format) and a queue of faults answered before the
// normal answers resume. Tests, the local demo and the benchmark point CRUN_API_BASE at it.
// It owns only in-memory state: every asset, its fault queue, call counters and flip times.
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
} = {}) {
	const assets = new Map();
	const callsByAsset = new Map();
	const flips = new Map();
	const timers = new Set();
	let callsTotal = 0;
	let uploads = 0;

	function createAsset(id, now) {
		const h = hashId(id);
		const assetType = ASSET_TYPES[h % 3];
		const asset = {
			id,
			name: `${id}.${EXTENSIONS[assetType]}`,
			assetType,
			timeFormat: (h >>> 8) & 1 ? "unix" : "iso",
			processingMs: defaultProcessingMs,
			outcome: id.toLowerCase().startsWith("fail") ? "Failed" : "Active",
			errorMessage: DEFAULT_ERROR,
			faults: [],
			createdAt: now,
			firstQueryAt: undefined,
			flipped: undefined,
			flippedAt: undefined,
		};
		assets.set(id, asset);
		return asset;
	}

	// The processing clock starts at the first asset-info query, so a script installed long before the
	// watcher first polls still gives the watcher the Processing period it asked for.
	function statusOf(asset, now) {
		if (asset.flipped !== undefined) return asset.flipped;
		if (asset.firstQueryAt === undefined || now - asset.firstQueryAt < asset.processingMs)
			return "Processing";
		return asset.outcome;
	}

	function assetEnvelope(asset, now, statusOverride) {
		const status = statusOverride ?? statusOf(asset, now);
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
		const now = Date.now();
		return {
			id: asset.id,
			status: statusOf(asset, now),
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
		const asset = assets.get(id) ?? createAsset(id, Date.now());
		Object.assign(asset, normalized);
		return view(asset);
	}

	function flip(id, status) {
		if (!STATUSES.includes(status)) throw invalid("status is Processing, Active or Failed");
		const now = Date.now();
		const asset = assets.get(id) ?? createAsset(id, now);
		asset.flipped = status;
		asset.flippedAt = now;
		flips.set(id, now);
		return view(asset);
	}

	function stats() {
		return {
			calls: { total: callsTotal, byAsset: Object.fromEntries(callsByAsset) },
			uploads,
			flips: Object.fromEntries(flips),
		};
	}

	function reset() {
		assets.clear();
		callsByAsset.clear();
		flips.clear();
		callsTotal = 0;
		uploads = 0;
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
				const full = JSON.stringify(assetEnvelope(asset, Date.now()));
				send(res, fault.httpStatus, full.slice(0, full.length >> 1));
				return;
			}
			case "wrong_shape":
				send(res, fault.httpStatus, { success: true, result: { id: asset.id, state: "ready", items: [] } });
				return;
			case "unknown_status":
				send(res, 200, assetEnvelope(asset, Date.now(), fault.status));
				return;
			case "slow": {
				const timer = setTimeout(() => {
					timers.delete(timer);
					send(res, 200, assetEnvelope(asset, Date.now()));
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
		if (req.method !== "GET") return send(res, 405, errorEnvelope(405));
		if (id === "") return send(res, 422, errorEnvelope(422, "asset_id is required"));
		const now = Date.now();
		let asset = assets.get(id);
		if (asset === undefined) {
			const lower = id.toLowerCase();
			if (lower.startsWith("missing")) return send(res, 404, errorEnvelope(404, "Asset not found"));
			if (lower.startsWith("invalid")) return send(res, 422, errorEnvelope(422, "Invalid asset_id"));
			asset = createAsset(id, now);
		}
		if (asset.firstQueryAt === undefined) asset.firstQueryAt = now;
		if (asset.faults.length > 0) return answerFault(req, res, asset, asset.faults.shift());
		send(res, 200, assetEnvelope(asset, now));
	}

	async function assetUpload(req, res) {
		uploads++;
		if (req.headers["x-api-key"] !== apiKey) return send(res, 401, errorEnvelope(401));
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
		const asset = createAsset(id, Date.now());
		asset.name = body.name;
		asset.assetType = body.asset_type;
		if (body.name.toLowerCase().startsWith("fail")) asset.outcome = "Failed";
		send(res, 200, { code: 200, message: "success", data: { AssetId: id } });
	}

	async function control(req, res, path) {
		const parts = path.split("/").slice(2);
		const method = req.method;
		if (parts[0] === "stats" && parts.length === 1 && method === "GET") return send(res, 200, stats());
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
		},
	});
	const sim = await startCrunSim({
		port: Number(values.port),
		host: values.host,
		apiKey: values["api-key"],
		defaultProcessingMs: Number(values["processing-ms"]),
	});
	console.log(`crun sim listening on ${sim.url} (default processing ${values["processing-ms"]} ms)`);
	const stop = async () => {
		await sim.close();
		process.exit(0);
	};
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
}
