// What an answer of Crun's asset-info endpoint means, as a pure function of its HTTP status,
// headers and body text. The upstream reports errors as the HTTP status, as the body's `code`
// under HTTP 200, or both; bodies may be HTML or truncated. Nothing here throws: every input
// maps to a `CheckOutcome` the poll loop knows how to schedule.

import { parseRetryAfter } from "../retry-after.ts";

export type AssetStatus = "Processing" | "Active" | "Failed";

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

export type CheckOutcome =
	| { kind: "ok"; asset: UpstreamAsset }
	/** network trouble, timeouts, 5xx, 501, 505, unreadable bodies: keep the schedule */
	| { kind: "transient"; error: string }
	| { kind: "rate_limited"; error: string; retryAfterMs: number | null }
	| { kind: "maintenance"; error: string; retryAfterMs: number | null }
	/** 401/402: the operator must act; keep watching slowly, never expire for it */
	| { kind: "operator"; error: string; code: 401 | 402 }
	| { kind: "not_found"; error: string }
	| { kind: "invalid"; error: string };

export function isTerminal(status: string | null | undefined): status is "Active" | "Failed" {
	return status === "Active" || status === "Failed";
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
	switch (code) {
		case 401:
		case 402:
			return { kind: "operator", error, code };
		case 404:
			return { kind: "not_found", error };
		case 422:
			return { kind: "invalid", error };
		case 429:
			return { kind: "rate_limited", error, retryAfterMs };
		case 455:
			return { kind: "maintenance", error, retryAfterMs };
		default:
			return { kind: "transient", error };
	}
}

/** The upstream's `{ code, message, data }` envelope, or null when the body is not a JSON object. */
export function readEnvelope(body: string): {
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

export function classifyAnswer(
	httpStatus: number,
	headers: Headers,
	body: string,
	now: number,
): CheckOutcome {
	const retryAfterMs = parseRetryAfter(headers.get("retry-after"), now);
	const { envelope, bodyCode } = readEnvelope(body);
	const message = str(envelope?.message);

	// An error in either place is an error. When both are errors the body's code is the more
	// specific one (the HTTP status is often a generic 500 or 200 from a proxy).
	if (httpStatus < 200 || httpStatus > 299) {
		const code = bodyCode !== null && bodyCode !== 200 ? bodyCode : httpStatus;
		return errorFor(code, message ?? (envelope ? null : body ? excerpt(body) : null), retryAfterMs);
	}
	if (!envelope)
		return { kind: "transient", error: `unreadable upstream body: ${excerpt(body) || "(empty)"}` };
	if (bodyCode !== null && bodyCode !== 200) return errorFor(bodyCode, message, retryAfterMs);

	const data = envelope.data;
	if (data === null || typeof data !== "object" || Array.isArray(data))
		return { kind: "transient", error: "upstream answer has no data object" };
	const d = data as Record<string, unknown>;
	const status = str(d.Status);
	if (!status) return { kind: "transient", error: "upstream answer has no Status" };
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
