// The TypeScript client of seedance-asset-watcher: one method per route, typed from the same zod
// schemas the service validates with (types only: nothing of zod or hono is loaded at runtime),
// errors as `WatcherApiError` carrying the service's envelope and request id, and
// `verifyCallback`, which checks a callback's Standard Webhooks signature and returns the event.

import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { z } from "zod";
import type { ErrorSchema } from "../src/api/errors";
import type {
	BulkRedeliverBody,
	BulkRedeliverResult,
	ReceiverListQuery,
	ReceiverListSchema,
	ReceiverSchema,
} from "../src/api/recovery";
import type { RegisterBody, UploadBody } from "../src/api/requests";
import type {
	AssetStatusSchema,
	BatchResult as BatchResultSchema,
	CallbackEventSchema,
	UploadResultSchema,
	WatchSchema,
	WatchSummarySchema,
} from "../src/api/resources";

/** What `register` and `registerMany` take: the body of `POST /v1/watches`. */
export type RegisterWatchInput = z.input<typeof RegisterBody>;
export type Watch = z.infer<typeof WatchSchema>;
export type WatchState = Watch["state"];
export type EventType = Watch["events"][number];
export type WatchSummary = z.infer<typeof WatchSummarySchema>;
export type BatchResult = z.infer<typeof BatchResultSchema>;
export type AssetStatus = z.infer<typeof AssetStatusSchema>;
export type UploadInput = z.input<typeof UploadBody>;
export type UploadResult = z.infer<typeof UploadResultSchema>;
export type CallbackEvent = z.infer<typeof CallbackEventSchema>;
export type ErrorEnvelope = z.infer<typeof ErrorSchema>;
/** What `redeliverMany` takes: the body of `POST /v1/watches/redeliver`. */
export type RedeliverManyInput = z.input<typeof BulkRedeliverBody>;
export type RedeliverManyResult = z.infer<typeof BulkRedeliverResult>;
export type Receiver = z.infer<typeof ReceiverSchema>;
export type ReceiversQuery = z.input<typeof ReceiverListQuery>;
export type ReceiverPage = z.infer<typeof ReceiverListSchema>;

export interface ListWatchesQuery {
	asset_id?: string;
	state?: WatchState;
	/** 1–200, default 50 */
	limit?: number;
	/** `next_cursor` of the previous page */
	cursor?: string;
}

export interface WatchPage {
	watches: WatchSummary[];
	/** pass as `cursor` for the next page; null on the last one */
	next_cursor: string | null;
}

export interface WatcherClientOptions {
	/** where the service runs, e.g. `https://watcher.example.com` */
	baseUrl: string;
	/** one of the service's API_TOKENS */
	token: string;
	/** another fetch (a service binding's, a mock); defaults to the global one */
	fetch?: (request: Request) => Promise<Response>;
}

/** An answer of the service other than 2xx, with everything its envelope and headers said. */
export class WatcherApiError extends Error {
	override readonly name = "WatcherApiError";
	constructor(
		/** the HTTP status */
		readonly status: number,
		/** the envelope's `code`, e.g. `invalid_request`, `watch_not_found`, `upstream_rejected` */
		readonly code: string,
		message: string,
		/** the envelope's `details` (validation issues, the missing settings, …) */
		readonly details: unknown,
		/** the `x-request-id` to quote when reporting a problem */
		readonly requestId: string | null,
		/** seconds from `Retry-After` on 429 and 503 answers */
		readonly retryAfterS: number | null,
	) {
		super(message);
	}
}

export class WatcherClient {
	private readonly base: string;
	private readonly token: string;
	private readonly doFetch: (request: Request) => Promise<Response>;

	constructor(options: WatcherClientOptions) {
		this.base = options.baseUrl.replace(/\/+$/, "");
		this.token = options.token;
		this.doFetch = options.fetch ?? ((request) => fetch(request));
	}

	/** Watches an asset. `created` is false when this token already had a live watch on the same asset and URL. */
	async register(input: RegisterWatchInput): Promise<{ watch: Watch; created: boolean }> {
		const { status, data } = await this.send<Watch>("POST", "/v1/watches", input);
		return { watch: data, created: status === 201 };
	}

	/** Up to 100 registrations; each has its own result (`status` 201, 200 or the error's), in order. */
	async registerMany(inputs: RegisterWatchInput[]): Promise<BatchResult[]> {
		return (await this.send<{ results: BatchResult[] }>("POST", "/v1/watches/batch", { watches: inputs }))
			.data.results;
	}

	/** The watch with its delivery state and latest attempts. */
	async get(watchId: string): Promise<Watch> {
		return (await this.send<Watch>("GET", `/v1/watches/${encodeURIComponent(watchId)}`)).data;
	}

	/** One page of this token's watches, oldest first. */
	async list(query: ListWatchesQuery = {}): Promise<WatchPage> {
		const params = new URLSearchParams();
		for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
		const qs = params.size > 0 ? `?${params}` : "";
		return (await this.send<WatchPage>("GET", `/v1/watches${qs}`)).data;
	}

	/** Every watch matching `query`, page after page. */
	async *listAll(query: Omit<ListWatchesQuery, "cursor"> = {}): AsyncGenerator<WatchSummary> {
		let cursor: string | undefined;
		do {
			const page = await this.list({ ...query, cursor });
			yield* page.watches;
			cursor = page.next_cursor ?? undefined;
		} while (cursor);
	}

	/** No further callbacks for this watch. */
	async cancel(watchId: string): Promise<Watch> {
		return (await this.send<Watch>("DELETE", `/v1/watches/${encodeURIComponent(watchId)}`)).data;
	}

	/** Sends the watch's event again (same `webhook-id` and body); 409 `no_event_yet` before it has one. */
	async redeliver(watchId: string): Promise<Watch> {
		return (await this.send<Watch>("POST", `/v1/watches/${encodeURIComponent(watchId)}/redeliver`)).data;
	}

	/**
	 * Sends the event again to this token's watches that are `failed` (the default) or `delivered`,
	 * optionally only those last changed in [`since`, `until`) or on one `asset_id`, each with its
	 * original webhook-id. At most `limit` (100) per call: while `next_cursor` is not null, call again
	 * with the same input and that `cursor`. Repeating a call changes nothing already done.
	 */
	async redeliverMany(input: RedeliverManyInput = {}): Promise<RedeliverManyResult> {
		return (await this.send<RedeliverManyResult>("POST", "/v1/watches/redeliver", input)).data;
	}

	/** One page of this token's receiver origins and their circuits (`healthy`, `failing`, `paused`). */
	async receivers(query: ReceiversQuery = {}): Promise<ReceiverPage> {
		const params = new URLSearchParams();
		for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
		const qs = params.size > 0 ? `?${params}` : "";
		return (await this.send<ReceiverPage>("GET", `/v1/receivers${qs}`)).data;
	}

	/** The asset's status; `refresh` forces an upstream check (rate-limited: 429 `rate_limited`). */
	async lookup(assetId: string, options: { refresh?: boolean } = {}): Promise<AssetStatus> {
		const qs = options.refresh ? "?refresh=true" : "";
		return (await this.send<AssetStatus>("GET", `/v1/assets/${encodeURIComponent(assetId)}${qs}`)).data;
	}

	/** Uploads through Crun; with `callback_url`, the new asset is watched in the same call. Not idempotent. */
	async upload(input: UploadInput): Promise<UploadResult> {
		return (await this.send<UploadResult>("POST", "/v1/assets/upload", input)).data;
	}

	private async send<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T }> {
		const headers = new Headers({ authorization: `Bearer ${this.token}`, accept: "application/json" });
		if (body !== undefined) headers.set("content-type", "application/json");
		const res = await this.doFetch(
			new Request(`${this.base}${path}`, {
				method,
				headers,
				body: body === undefined ? undefined : JSON.stringify(body),
			}),
		);
		const text = await res.text();
		if (res.ok) return { status: res.status, data: (text === "" ? undefined : JSON.parse(text)) as T };
		throw errorOf(res, text);
	}
}

function errorOf(res: Response, text: string): WatcherApiError {
	let envelope: Partial<ErrorEnvelope> | null = null;
	try {
		envelope = JSON.parse(text);
	} catch {
		// Not the service's envelope (a proxy's page, a cut connection): described by status below.
	}
	const e = envelope?.error;
	const retryAfter = res.headers.get("retry-after");
	const retryAfterS = retryAfter !== null && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : null;
	const requestId = res.headers.get("x-request-id");
	if (e && typeof e.code === "string" && typeof e.message === "string")
		return new WatcherApiError(res.status, e.code, e.message, e.details, requestId, retryAfterS);
	const excerpt = text.replace(/\s+/g, " ").trim().slice(0, 200);
	return new WatcherApiError(
		res.status,
		`http_${res.status}`,
		`HTTP ${res.status}${excerpt ? `: ${excerpt}` : ""}`,
		undefined,
		requestId,
		retryAfterS,
	);
}

// ---- callbacks ------------------------------------------------------------------------------

export type CallbackVerificationReason = "missing_headers" | "bad_signature" | "stale_timestamp" | "not_json";

/** A callback that must not be trusted: answer it with a 4xx and do not act on it. */
export class CallbackVerificationError extends Error {
	override readonly name = "CallbackVerificationError";
	constructor(
		readonly reason: CallbackVerificationReason,
		message: string,
	) {
		super(message);
	}
}

function reasonOf(err: WebhookVerificationError): CallbackVerificationReason {
	if (/missing required headers/i.test(err.message)) return "missing_headers";
	if (/timestamp too (old|new)/i.test(err.message)) return "stale_timestamp";
	return "bad_signature";
}

/**
 * Verifies a callback from its raw body and headers and returns the event. `secret` is the
 * service's WEBHOOK_SECRET (`whsec_…`); several space-separated secrets are each tried, so a
 * receiver keeps working while the service rotates them. Throws `CallbackVerificationError`.
 */
export function verifyCallbackPayload(
	body: string,
	headers: Headers | Record<string, string | undefined>,
	secret: string,
): CallbackEvent {
	const get = (name: string) =>
		headers instanceof Headers ? (headers.get(name) ?? undefined) : (headers[name] ?? undefined);
	const wanted = {
		"webhook-id": get("webhook-id"),
		"webhook-timestamp": get("webhook-timestamp"),
		"webhook-signature": get("webhook-signature"),
	};
	if (!wanted["webhook-id"] || !wanted["webhook-timestamp"] || !wanted["webhook-signature"])
		throw new CallbackVerificationError(
			"missing_headers",
			"webhook-id, webhook-timestamp and webhook-signature are required",
		);
	const secrets = secret.split(/\s+/).filter(Boolean);
	if (secrets.length === 0) throw new TypeError("verifyCallback needs the webhook secret (whsec_…)");
	let verified = false;
	for (const s of secrets) {
		try {
			new Webhook(s).verify(body, wanted as Record<string, string>, { jsonParse: false });
			verified = true;
			break;
		} catch (err) {
			if (!(err instanceof WebhookVerificationError)) throw err;
			const reason = reasonOf(err);
			// A stale timestamp or missing header is the same for every secret.
			if (reason !== "bad_signature")
				throw new CallbackVerificationError(reason, `callback not verified: ${err.message}`);
		}
	}
	if (!verified)
		throw new CallbackVerificationError("bad_signature", "callback not verified: no matching signature");
	try {
		return JSON.parse(body) as CallbackEvent;
	} catch {
		throw new CallbackVerificationError("not_json", "the callback body is not JSON");
	}
}

/** Verifies a callback `Request` (reads its body) and returns the typed event. */
export async function verifyCallback(request: Request, secret: string): Promise<CallbackEvent> {
	return verifyCallbackPayload(await request.text(), request.headers, secret);
}
