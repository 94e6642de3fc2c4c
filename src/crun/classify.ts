// What an answer of Crun's asset-info endpoint means, as a pure function of its HTTP status,
// headers and body text. The upstream reports errors as the HTTP status, as the body's `code`
// under HTTP 200, or both; bodies may be HTML or truncated. Nothing here throws: every input
// maps to a `CheckOutcome` the poll loop knows how to schedule.

import { parseRetryAfter } from "../core/retry-after";

export interface UpstreamAsset {
	/** the upstream's Status string; anything but Active/Failed is non-terminal */
	status: string;
	name: string | null;
	assetType: string | null;
	createTime: string | null;
	updateTime: string | null;
	/** the raw `data` object, passed through to callbacks so nothing the upstream said is lost */
	data: Record<string, unknown>;
	message: string | null;
}

/**
 * The errors are counted by `code` (the upstream's code, or `timeout`, `network`, `bad_body`) for
 * the dashboard's "errors by code"; an outcome made up locally (no call made) has none.
 */
export type CheckOutcome =
	| { kind: "ok"; asset: UpstreamAsset }
	/** network trouble, timeouts, 5xx, 501, 505, unreadable bodies: keep the schedule */
	| { kind: "transient"; error: string; code?: string }
	| { kind: "rate_limited"; error: string; retryAfterMs: number | null; code?: string }
	| { kind: "maintenance"; error: string; retryAfterMs: number | null; code?: string }
	/** 401/402: the operator must act; keep watching slowly, never expire for it */
	| { kind: "operator"; error: string; code: 401 | 402 }
	| { kind: "not_found"; error: string; code?: string }
	| { kind: "invalid"; error: string; code?: string };

/** The code an error outcome is counted under, or null (a good answer, or no call was made). */
export function errorCode(o: CheckOutcome): string | null {
	if (o.kind === "ok" || o.code === undefined) return null;
	return String(o.code);
}

/** Accepts ISO-8601 strings and Unix seconds (number or numeric string); returns ISO or null. */
export function normalizeTime(value: unknown): string | null {
	if (value === null || value === undefined || value === "") return null;
	let ms: number;
	if (typeof value === "number" || (typeof value === "string" && /^\d+(\.\d+)?$/.test(value.trim()))) {
		const n = Number(value);
		// Unix seconds today are ~1.8e9; a 13-digit value can only be milliseconds.
		ms = n > 1e11 ? n : n * 1000;
	} else if (typeof value === "string") {
		ms = Date.parse(value);
	} else {
		return null;
	}
	if (!Number.isFinite(ms)) return null;
	const d = new Date(ms);
	return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

function excerpt(text: string): string {
	const flat = text.replace(/\s+/g, " ").trim();
	return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

function errorFor(code: number, message: string | null, retryAfterMs: number | null): CheckOutcome {
	const error = `upstream ${code}${message ? `: ${message}` : ""}`;
	const c = String(code);
	switch (code) {
		case 401:
		case 402:
			return { kind: "operator", error, code };
		case 404:
			return { kind: "not_found", error, code: c };
		case 422:
			return { kind: "invalid", error, code: c };
		case 429:
			return { kind: "rate_limited", error, retryAfterMs, code: c };
		case 455:
			return { kind: "maintenance", error, retryAfterMs, code: c };
		default:
			return { kind: "transient", error, code: c };
	}
}

/** The upstream's `{ code, message, data }` envelope, or null when the body is not a JSON object. */
function readEnvelope(body: string): {
	envelope: Record<string, unknown> | null;
	bodyCode: number | null;
} {
	let json: unknown;
	try {
		json = JSON.parse(body);
	} catch {
		json = undefined;
	}
	const envelope =
		json !== null && typeof json === "object" && !Array.isArray(json)
			? (json as Record<string, unknown>)
			: null;
	return { envelope, bodyCode: typeof envelope?.code === "number" ? envelope.code : null };
}

/**
 * What every upstream answer says before its own meaning: its envelope, the error it carries (or
 * null) and its Retry-After. An error in either place is an error; when both say error the body's
 * code is the more specific one (the HTTP status is often a generic 500 or 200 from a proxy).
 */
export function readAnswer(
	httpStatus: number,
	headers: Headers,
	body: string,
	now: number,
): { envelope: Record<string, unknown> | null; errorCode: number | null; retryAfterMs: number | null } {
	const { envelope, bodyCode } = readEnvelope(body);
	const bodyError = bodyCode !== null && bodyCode !== 200 ? bodyCode : null;
	const httpError = httpStatus < 200 || httpStatus > 299 ? httpStatus : null;
	return {
		envelope,
		errorCode: httpError !== null ? (bodyError ?? httpError) : bodyError,
		retryAfterMs: parseRetryAfter(headers.get("retry-after"), now),
	};
}

export function classifyAnswer(
	httpStatus: number,
	headers: Headers,
	body: string,
	now: number,
): CheckOutcome {
	const { envelope, errorCode, retryAfterMs } = readAnswer(httpStatus, headers, body, now);
	const message = str(envelope?.message);
	if (errorCode !== null)
		return errorFor(errorCode, message ?? (envelope || !body ? null : excerpt(body)), retryAfterMs);
	if (!envelope)
		return {
			kind: "transient",
			error: `unreadable upstream body: ${excerpt(body) || "(empty)"}`,
			code: "bad_body",
		};

	const data = envelope.data;
	if (data === null || typeof data !== "object" || Array.isArray(data))
		return { kind: "transient", error: "upstream answer has no data object", code: "bad_body" };
	const d = data as Record<string, unknown>;
	const status = str(d.Status);
	if (!status) return { kind: "transient", error: "upstream answer has no Status", code: "bad_body" };
	return {
		kind: "ok",
		asset: {
			status,
			name: str(d.Name),
			assetType: str(d.AssetType),
			createTime: normalizeTime(d.CreateTime),
			updateTime: normalizeTime(d.UpdateTime),
			data: d,
			message,
		},
	};
}
