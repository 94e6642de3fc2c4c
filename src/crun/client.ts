// The upstream client: a GET of Crun's asset-info endpoint (classified by `classifyAnswer`) and
// a POST of its asset-upload endpoint (classified by `classifyUpload`), with the API key and a
// timeout. It holds no Workers state, so the Durable Object and the routes share it; network
// failures and timeouts come back as outcomes, never as exceptions.

import { clock } from "../core/clock";
import type { Config } from "../core/config";
import { errorText } from "../core/log";
import { readAtMost } from "../core/streams";
import { type CheckOutcome, classifyAnswer } from "./classify";
import { classifyUpload, type UploadOutcome } from "./upload-answer";

/** Bodies beyond this are not an asset-info answer; read no further. */
const MAX_BODY_BYTES = 256 * 1024;

export interface CrunSettings {
	apiBase: string;
	apiKey: string;
	/** UPSTREAM_TIMEOUT_MS: 10 s unless configured */
	timeoutMs: number;
}

/** The upstream settings from the configuration, or null while CRUN_API_KEY is missing. */
export function crunSettings(config: Config): CrunSettings | null {
	if (!config.CRUN_API_KEY) return null;
	return {
		apiBase: config.CRUN_API_BASE,
		apiKey: config.CRUN_API_KEY,
		timeoutMs: config.UPSTREAM_TIMEOUT_MS,
	};
}

/**
 * An upstream that echoes our key (in an error message, say) must not get it stored in
 * `last_error`, sent in a callback or shown by the API: it is cut out before anything reads it.
 */
export function withoutKey(text: string, apiKey: string): string {
	return apiKey.length >= 4 && text.includes(apiKey) ? text.split(apiKey).join("[redacted]") : text;
}

/** Why a fetch threw: its timeout, or the network (with the key cut out of the message). */
function fetchFailure(err: unknown, settings: CrunSettings): { timedOut: boolean; error: string } {
	const name = err instanceof Error ? err.name : "";
	if (name === "TimeoutError" || name === "AbortError")
		return { timedOut: true, error: `upstream timed out after ${settings.timeoutMs} ms` };
	return { timedOut: false, error: `upstream unreachable: ${withoutKey(errorText(err), settings.apiKey)}` };
}

async function readCapped(res: Response): Promise<string> {
	if (!res.body) return "";
	return new TextDecoder().decode((await readAtMost(res.body, MAX_BODY_BYTES)).bytes);
}

export async function checkAsset(settings: CrunSettings, assetId: string): Promise<CheckOutcome> {
	const url = `${settings.apiBase}/api/v1/client/job/asset-info?asset_id=${encodeURIComponent(assetId)}`;
	try {
		const res = await fetch(url, {
			headers: { "x-api-key": settings.apiKey, accept: "application/json" },
			signal: AbortSignal.timeout(settings.timeoutMs),
		});
		const body = await readCapped(res);
		return classifyAnswer(res.status, res.headers, withoutKey(body, settings.apiKey), clock.now());
	} catch (err) {
		const { timedOut, error } = fetchFailure(err, settings);
		return { kind: "transient", error, code: timedOut ? "timeout" : "network" };
	}
}

export interface UploadRequest {
	name: string;
	asset_type: string;
	asset_url: string;
}

/**
 * One POST of Crun's asset-upload endpoint. Never retried here: an upload is not idempotent, and
 * after a timeout the asset may exist upstream, so the caller hears about it and decides.
 */
export async function uploadAsset(settings: CrunSettings, upload: UploadRequest): Promise<UploadOutcome> {
	try {
		const res = await fetch(`${settings.apiBase}/api/v1/client/job/asset-upload`, {
			method: "POST",
			headers: {
				"x-api-key": settings.apiKey,
				accept: "application/json",
				"content-type": "application/json",
			},
			body: JSON.stringify({ name: upload.name, asset_type: upload.asset_type, asset_url: upload.asset_url }),
			signal: AbortSignal.timeout(settings.timeoutMs),
		});
		const body = await readCapped(res);
		return classifyUpload(res.status, res.headers, withoutKey(body, settings.apiKey), clock.now());
	} catch (err) {
		const { timedOut, error } = fetchFailure(err, settings);
		return { kind: "failed", message: timedOut ? `${error}; the asset may have been created` : error };
	}
}
