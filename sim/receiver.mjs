// Callback receiver: records every request it gets, verifies Standard Webhooks signatures with the
// reference `standardwebhooks` package (any of several space-separated secrets may match), and answers
// with a per-path scripted behaviour (status, sequence, delay, hang) or goes down and up on its port.
// It owns only in-memory state: the delivery log, the behaviours and the pending waiters.
// Usable as a library (startReceiver) and as a CLI (node sim/receiver.mjs --port 8791 --secret whsec_...).
import { createServer, STATUS_CODES } from "node:http";
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";
import { ControlError, invalid, isMain } from "./shared.mjs";

const CONTROL_PREFIX = "/_receiver/";
const STEP_KEYS = new Set(["status", "location", "retryAfter", "headers", "body", "delayMs", "hang"]);
const DEFAULT_STEP = Object.freeze({ status: 200 });

function normalizeStep(step) {
	if (typeof step === "number") step = { status: step };
	if (step === null || typeof step !== "object" || Array.isArray(step))
		throw invalid("a step must be an object");
	const unknown = Object.keys(step).filter((k) => !STEP_KEYS.has(k));
	if (unknown.length > 0) throw invalid(`unknown behaviour fields: ${unknown.join(", ")}`);
	const status = step.status ?? 200;
	if (!Number.isInteger(status) || status < 200 || status > 599) throw invalid("status must be 200-599");
	if (step.delayMs !== undefined && (typeof step.delayMs !== "number" || !(step.delayMs >= 0))) {
		throw invalid("delayMs must be a number >= 0");
	}
	for (const key of ["location", "retryAfter", "body"]) {
		if (step[key] !== undefined && typeof step[key] !== "string") throw invalid(`${key} must be a string`);
	}
	if (step.headers !== undefined && (step.headers === null || typeof step.headers !== "object")) {
		throw invalid("headers must be an object of strings");
	}
	return {
		status,
		location: step.location ?? (status >= 300 && status < 400 ? "/moved" : undefined),
		retryAfter: step.retryAfter,
		headers: step.headers,
		body: step.body,
		delayMs: step.delayMs ?? 0,
		hang: step.hang === true,
	};
}

// A behaviour is one step answered every time, or a sequence consumed one step per request and then
// `after` (default 200) for ever after. An array is shorthand for a sequence. (Not `then`: an object
// with a `then` field is a thenable and would be swallowed by any `await` it passes through.)
function normalizeBehaviour(behaviour) {
	if (behaviour === null || behaviour === undefined) return null;
	if (Array.isArray(behaviour))
		return { sequence: behaviour.map(normalizeStep), rest: DEFAULT_STEP, index: 0 };
	if (typeof behaviour === "object" && behaviour.sequence !== undefined) {
		const { sequence, after, ...others } = behaviour;
		if (!Array.isArray(sequence)) throw invalid("sequence must be an array");
		if (Object.keys(others).length > 0) throw invalid("a sequence behaviour takes only sequence and after");
		return {
			sequence: sequence.map(normalizeStep),
			rest: after === undefined ? DEFAULT_STEP : normalizeStep(after),
			index: 0,
		};
	}
	return { sequence: [], rest: normalizeStep(behaviour), index: 0 };
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		req.on("data", (chunk) => chunks.push(chunk));
		req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
		req.on("error", reject);
	});
}

function sendJson(res, status, body, headers) {
	if (res.destroyed || res.writableEnded) return;
	const text = typeof body === "string" ? body : JSON.stringify(body);
	res.writeHead(status, {
		"content-type": "application/json; charset=utf-8",
		"content-length": Buffer.byteLength(text),
		...headers,
	});
	res.end(text);
}

export async function startReceiver({ port = 0, host = "127.0.0.1", secret, onDelivery } = {}) {
	const verifiers = (secret ?? "")
		.split(/\s+/)
		.filter(Boolean)
		.map((s) => new Webhook(s));
	const log = [];
	const seen = new Map();
	const behaviours = new Map();
	const waiters = new Set();
	const timers = new Set();
	let server;
	let boundPort = port;

	function verify(body, headers) {
		if (verifiers.length === 0) return { verified: false, error: "no secret configured" };
		let error = "";
		for (const wh of verifiers) {
			try {
				wh.verify(body, headers);
				return { verified: true };
			} catch (err) {
				error = String(err?.message ?? err);
			}
		}
		return { verified: false, error };
	}

	function nextStep(path) {
		const b = behaviours.get(path) ?? behaviours.get("*");
		if (!b) return DEFAULT_STEP;
		return b.index < b.sequence.length ? b.sequence[b.index++] : b.rest;
	}

	// Waiters see a delivery when it arrives and again when it is answered, so a predicate on
	// `status` resolves as soon as the answer is known.
	function notifyWaiters(delivery) {
		for (const w of waiters) {
			let hit;
			try {
				hit = w.predicate(delivery);
			} catch (err) {
				hit = false;
				waiters.delete(w);
				clearTimeout(w.timer);
				w.reject(err);
			}
			if (hit) {
				waiters.delete(w);
				clearTimeout(w.timer);
				w.resolve(delivery);
			}
		}
	}

	function record(delivery) {
		log.push(delivery);
		notifyWaiters(delivery);
		try {
			onDelivery?.(delivery);
		} catch (err) {
			console.error(`onDelivery threw: ${err?.message ?? err}`);
		}
	}

	function answer(res, delivery, step) {
		const respond = () => {
			if (res.destroyed || res.writableEnded) return;
			const headers = { ...step.headers };
			if (step.location !== undefined) headers.location = step.location;
			if (step.retryAfter !== undefined) headers["retry-after"] = step.retryAfter;
			const body =
				step.body ?? (step.status < 300 ? { ok: true } : { error: STATUS_CODES[step.status] ?? "error" });
			delivery.status = step.status;
			sendJson(res, step.status, body, headers);
			notifyWaiters(delivery);
		};
		if (step.hang) return;
		if (step.delayMs > 0) {
			const timer = setTimeout(() => {
				timers.delete(timer);
				respond();
			}, step.delayMs);
			timers.add(timer);
		} else {
			respond();
		}
	}

	async function onRequest(req, res) {
		const url = req.url ?? "/";
		const q = url.indexOf("?");
		const path = q === -1 ? url : url.slice(0, q);
		try {
			if (path.startsWith(CONTROL_PREFIX))
				return await control(req, res, path, q === -1 ? "" : url.slice(q + 1));
			const at = Date.now();
			const body = await readBody(req);
			const headers = { ...req.headers };
			let json = null;
			try {
				json = JSON.parse(body);
			} catch {}
			const webhookId = typeof headers["webhook-id"] === "string" ? headers["webhook-id"] : null;
			const attempt = webhookId === null ? 1 : (seen.get(webhookId) ?? 0) + 1;
			if (webhookId !== null) seen.set(webhookId, attempt);
			const delivery = {
				at,
				method: req.method,
				path,
				query: q === -1 ? "" : url.slice(q + 1),
				headers,
				body,
				json,
				webhookId,
				attempt,
				status: null,
				...verify(body, headers),
			};
			const step = nextStep(path);
			record(delivery);
			answer(res, delivery, step);
		} catch (err) {
			if (err instanceof ControlError) return sendJson(res, err.status, { error: err.message });
			sendJson(res, 500, { error: String(err?.message ?? err) });
		}
	}

	async function control(req, res, path, query) {
		const route = `${req.method} ${path.slice(CONTROL_PREFIX.length)}`;
		switch (route) {
			case "GET deliveries": {
				const params = new URLSearchParams(query);
				const wantPath = params.get("path");
				const wantId = params.get("webhook_id");
				const list = log.filter(
					(d) => (wantPath === null || d.path === wantPath) && (wantId === null || d.webhookId === wantId),
				);
				return sendJson(res, 200, { deliveries: list });
			}
			case "PUT behaviour": {
				const body = parseJson(await readBody(req));
				if (typeof body?.path !== "string") throw invalid('body is { "path": "/hook", "behaviour": {...} }');
				setBehaviour(body.path, body.behaviour);
				return sendJson(res, 200, { ok: true });
			}
			case "POST reset":
				reset();
				return sendJson(res, 200, { ok: true });
			case "POST down": {
				// Only a timed outage makes sense over HTTP: once down, nothing can ask it to come back.
				const body = parseJson((await readBody(req)) || "{}");
				const forMs = body?.forMs;
				if (typeof forMs !== "number" || !(forMs > 0)) throw invalid('body is { "forMs": number > 0 }');
				res.once("finish", () => void down(forMs));
				return sendJson(res, 200, { ok: true, forMs }, { connection: "close" });
			}
		}
		throw new ControlError(404, `no control route ${route}`);
	}

	function parseJson(text) {
		try {
			return JSON.parse(text);
		} catch {
			throw invalid("body is not valid JSON");
		}
	}

	function setBehaviour(path, behaviour) {
		if (typeof path !== "string" || path === "") throw invalid("path must be a non-empty string");
		const b = normalizeBehaviour(behaviour);
		if (b === null) behaviours.delete(path);
		else behaviours.set(path, b);
	}

	function listen() {
		const s = createServer(onRequest);
		return new Promise((resolve, reject) => {
			s.once("error", reject);
			s.listen(boundPort, host, () => {
				s.off("error", reject);
				boundPort = s.address().port;
				server = s;
				resolve();
			});
		});
	}

	async function up() {
		if (server) return;
		await listen();
	}

	// Closes the listening socket and every open connection, so new requests meet "connection refused"
	// and keep-alive clients cannot slip through on an old socket.
	async function down(forMs) {
		if (server) {
			const s = server;
			server = undefined;
			await new Promise((resolve) => {
				s.close(() => resolve());
				s.closeAllConnections();
			});
			// Give peers' pooled sockets a turn to see the close, so their next request meets the
			// refused port rather than a dead keep-alive socket.
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
		if (typeof forMs === "number" && forMs > 0) {
			const timer = setTimeout(() => {
				timers.delete(timer);
				up().catch((err) => console.error(`receiver could not come back up: ${err.message}`));
			}, forMs);
			timers.add(timer);
		}
	}

	function reset() {
		log.length = 0;
		seen.clear();
		behaviours.clear();
	}

	function waitFor(predicate = () => true, timeoutMs = 5000) {
		const hit = log.find(predicate);
		if (hit) return Promise.resolve(hit);
		return new Promise((resolve, reject) => {
			const w = { predicate, resolve, reject, timer: undefined };
			w.timer = setTimeout(() => {
				waiters.delete(w);
				reject(new Error(`no matching delivery within ${timeoutMs} ms`));
			}, timeoutMs);
			waiters.add(w);
		});
	}

	await listen();
	const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;

	return {
		url,
		port: boundPort,
		deliveries: () => log.slice(),
		waitFor,
		setBehaviour,
		down,
		up,
		reset,
		async close() {
			for (const timer of timers) clearTimeout(timer);
			timers.clear();
			for (const w of waiters) {
				clearTimeout(w.timer);
				w.reject(new Error("receiver closed"));
			}
			waiters.clear();
			await down();
		},
	};
}

if (isMain(import.meta.url)) {
	const { values } = parseArgs({
		options: {
			port: { type: "string", default: "8791" },
			host: { type: "string", default: "127.0.0.1" },
			secret: { type: "string", default: process.env.WEBHOOK_SECRET ?? "" },
		},
	});
	const receiver = await startReceiver({
		port: Number(values.port),
		host: values.host,
		secret: values.secret || undefined,
		onDelivery(d) {
			const type = d.json?.type ?? "-";
			const assetId = d.json?.data?.asset_id ?? "-";
			const why = d.verified ? "" : ` (${d.error})`;
			console.log(
				`${new Date(d.at).toISOString()} ${d.method} ${d.path} ${type} asset_id=${assetId} ` +
					`webhook-id=${d.webhookId ?? "-"} attempt=${d.attempt} verified=${d.verified}${why}`,
			);
		},
	});
	const secrets = values.secret.split(/\s+/).filter(Boolean).length;
	console.log(
		`receiver listening on ${receiver.url} (${secrets === 0 ? "no secret: nothing will verify" : `${secrets} secret(s)`})`,
	);
	const stop = async () => {
		await receiver.close();
		process.exit(0);
	};
	process.once("SIGINT", stop);
	process.once("SIGTERM", stop);
}
