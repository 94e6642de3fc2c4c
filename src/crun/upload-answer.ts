// What an answer of Crun's asset-upload endpoint means, and the API error each failure becomes.
// Same rules as asset-info (errors as the HTTP status, as the body's `code` under HTTP 200, or
// both; HTML or truncated bodies are transient), but success means `data.AssetId`. The upload is
// not idempotent, so nothing here asks for a retry: the caller decides, with the upstream's message.

import { HttpError, retryAfterHeader } from "../core/errors";
import { readAnswer } from "./classify";

export type UploadOutcome =
	| { kind: "ok"; assetId: string; message: string | null }
	/** 422 (or 400): the upstream refused the input; its message says why */
	| { kind: "rejected"; message: string }
	/** 401/402: the service's key or credits; the operator must act */
	| { kind: "operator"; code: 401 | 402; message: string }
	| { kind: "rate_limited"; message: string; retryAfterS: number | null }
	| { kind: "maintenance"; message: string; retryAfterS: number | null }
	/** 5xx, other codes, network trouble, timeouts, unreadable bodies */
	| { kind: "failed"; message: string };

function excerpt(text: string): string {
	const flat = text
		.replace(/<[^>]*>/g, " ")
		.replace(/\s+/g, " ")
		.trim();
	return flat.length > 120 ? `${flat.slice(0, 120)}…` : flat;
}

function failure(code: number, message: string | null, retryAfterMs: number | null): UploadOutcome {
	const text = `upstream ${code}${message ? `: ${message}` : ""}`;
	const retryAfterS = retryAfterMs === null ? null : Math.ceil(retryAfterMs / 1000);
	switch (code) {
		case 400:
		case 422:
			return { kind: "rejected", message: message ?? text };
		case 401:
		case 402:
			return { kind: "operator", code, message: text };
		case 429:
			return { kind: "rate_limited", message: text, retryAfterS };
		case 455:
			return { kind: "maintenance", message: text, retryAfterS };
		default:
			return { kind: "failed", message: text };
	}
}

export function classifyUpload(
	httpStatus: number,
	headers: Headers,
	body: string,
	now: number,
): UploadOutcome {
	const { envelope, errorCode, retryAfterMs } = readAnswer(httpStatus, headers, body, now);
	const message =
		typeof envelope?.message === "string" && envelope.message !== "" ? envelope.message.slice(0, 500) : null;
	if (errorCode !== null)
		return failure(errorCode, message ?? (envelope || !body ? null : excerpt(body)), retryAfterMs);
	if (!envelope)
		return { kind: "failed", message: `unreadable upstream answer: ${excerpt(body) || "(empty)"}` };
	const data = envelope.data;
	const assetId =
		data !== null && typeof data === "object" && !Array.isArray(data)
			? (data as Record<string, unknown>).AssetId
			: undefined;
	if (typeof assetId !== "string" || assetId === "")
		return { kind: "failed", message: "upstream answer has no data.AssetId" };
	return { kind: "ok", assetId, message };
}

/** Default wait when the upstream rate limits or is in maintenance without saying for how long. */
const RATE_LIMIT_WAIT_S = 30;
const MAINTENANCE_WAIT_S = 300;

/** The API error a failed upload answers with. The message is the upstream's; the key never appears. */
export function uploadError(outcome: Exclude<UploadOutcome, { kind: "ok" }>): HttpError {
	switch (outcome.kind) {
		case "rejected":
			return new HttpError(400, "upstream_rejected", `the upstream refused the upload: ${outcome.message}`);
		case "operator":
			return outcome.code === 401
				? new HttpError(
						502,
						"upstream_unauthorized",
						`the upstream refused the service's API key (${outcome.message}); the operator must fix CRUN_API_KEY`,
					)
				: new HttpError(
						502,
						"upstream_payment_required",
						`the upstream account has no credits left (${outcome.message}); the operator must top it up`,
					);
		case "rate_limited":
			return new HttpError(
				429,
				"upstream_rate_limited",
				`the upstream is rate limiting uploads (${outcome.message})`,
				undefined,
				retryAfterHeader(outcome.retryAfterS ?? RATE_LIMIT_WAIT_S),
			);
		case "maintenance":
			return new HttpError(
				503,
				"upstream_maintenance",
				`the upstream is in maintenance (${outcome.message})`,
				undefined,
				retryAfterHeader(outcome.retryAfterS ?? MAINTENANCE_WAIT_S),
			);
		case "failed":
			return new HttpError(
				502,
				"upstream_error",
				`the upstream could not take the upload (${outcome.message})`,
			);
	}
}
