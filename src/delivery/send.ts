// Signing and sending one callback attempt (SPEC §4). The body is stored byte-for-byte when the
// event is created, so every retry and redelivery sends the same bytes under the same
// `webhook-id`; only `webhook-timestamp` and the signatures change. Never follows redirects.

import { Webhook } from "standardwebhooks";
import { version } from "../../package.json";
import { parseRetryAfter } from "../core/retry-after";
import type { AttemptResult } from "./retry-policy";

export const USER_AGENT = `seedance-asset-watcher/${version}`;

/** One `v1,<sig>` per secret, space-separated, so receivers on either side of a rotation verify. */
export function signatureHeader(
	secrets: readonly string[],
	webhookId: string,
	at: Date,
	body: string,
): string {
	return secrets.map((s) => new Webhook(s).sign(webhookId, at, body)).join(" ");
}

export interface Callback {
	url: string;
	webhookId: string;
	body: string;
	/** the watch's own extra headers (receiver auth); their values are secrets */
	headers: Record<string, string>;
}

export async function sendCallback(
	cb: Callback,
	secrets: readonly string[],
	timeoutMs: number,
	now: number,
): Promise<AttemptResult & { ms: number }> {
	const at = new Date(now);
	const headers = new Headers(cb.headers);
	headers.set("content-type", "application/json");
	headers.set("user-agent", USER_AGENT);
	headers.set("webhook-id", cb.webhookId);
	headers.set("webhook-timestamp", String(Math.floor(now / 1000)));
	headers.set("webhook-signature", signatureHeader(secrets, cb.webhookId, at, cb.body));
	const started = Date.now();
	try {
		const res = await fetch(cb.url, {
			method: "POST",
			headers,
			body: cb.body,
			redirect: "manual",
			signal: AbortSignal.timeout(timeoutMs),
		});
		// The receiver's body is of no use to us; release the connection.
		await res.body?.cancel().catch(() => {});
		return {
			kind: "response",
			status: res.status,
			retryAfterMs: parseRetryAfter(res.headers.get("retry-after"), now),
			ms: Date.now() - started,
		};
	} catch (err) {
		const name = err instanceof Error ? err.name : "";
		const error =
			name === "TimeoutError" || name === "AbortError"
				? `timed out after ${timeoutMs} ms`
				: `network error: ${err instanceof Error ? err.message : String(err)}`;
		return { kind: "error", error, ms: Date.now() - started };
	}
}
