// The upstream client: one GET of Crun's asset-info endpoint with the API key, a 10 s timeout,
// classified by `classifyAnswer`. It holds no Workers state, so the Durable Object and the
// lookup path share it; network failures and timeouts come back as transient outcomes.

import { clock } from "../clock";
import { type CheckOutcome, classifyAnswer } from "./classify";

export const UPSTREAM_TIMEOUT_MS = 10_000;
/** Bodies beyond this are not an asset-info answer; read no further. */
const MAX_BODY_BYTES = 256 * 1024;

export interface CrunSettings {
	apiBase: string;
	apiKey: string;
}

async function readCapped(res: Response): Promise<string> {
	if (!res.body) return "";
	const reader = res.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > MAX_BODY_BYTES) {
			await reader.cancel();
			break;
		}
		chunks.push(value);
	}
	const all = new Uint8Array(Math.min(size, MAX_BODY_BYTES));
	let at = 0;
	for (const c of chunks) {
		all.set(c.subarray(0, all.length - at), at);
		at += c.byteLength;
	}
	return new TextDecoder().decode(all);
}

export async function checkAsset(settings: CrunSettings, assetId: string): Promise<CheckOutcome> {
	const url = `${settings.apiBase}/api/v1/client/job/asset-info?asset_id=${encodeURIComponent(assetId)}`;
	try {
		const res = await fetch(url, {
			headers: { "x-api-key": settings.apiKey, accept: "application/json" },
			signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
		});
		const body = await readCapped(res);
		return classifyAnswer(res.status, res.headers, body, clock.now());
	} catch (err) {
		const name = err instanceof Error ? err.name : "";
		if (name === "TimeoutError" || name === "AbortError")
			return { kind: "transient", error: `upstream timed out after ${UPSTREAM_TIMEOUT_MS} ms` };
		return { kind: "transient", error: `upstream unreachable: ${err instanceof Error ? err.message : String(err)}` };
	}
}

export interface UploadRequest {
	name: string;
	asset_type: string;
	asset_url: string;
}
