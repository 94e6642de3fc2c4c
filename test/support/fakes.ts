// Fakes for tests inside workerd: a scripted Crun upstream and recording callback receivers,
// both served by a mocked global `fetch` (the Durable Objects share the tests' isolate), plus
// a virtual clock to step through hours of schedule without waiting for them.

import { reset } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, beforeEach, vi } from "vitest";
import { clock, sleepFor } from "../../src/core/clock";
import { TEST_SECRETS } from "./secrets";

export const UPSTREAM = "https://crun.test";
export const [TOKEN_A, TOKEN_B] = TEST_SECRETS.API_TOKENS.split(",") as [string, string];
/** The tokens of the clients `acme` and `globex` (each signed with its own CLIENT_WEBHOOK_SECRETS). */
export const [TOKEN_ACME, TOKEN_GLOBEX] = TEST_SECRETS.API_TOKENS.split(",")
	.slice(2)
	.map((e) => e.slice(e.indexOf(":") + 1)) as [string, string];
export const WEBHOOK_SECRET = TEST_SECRETS.WEBHOOK_SECRET;

/** One scripted answer of the fake upstream. `status` is the asset's Status when `body` is absent. */
export type UpstreamAnswer =
	| { status: string; data?: Record<string, unknown>; message?: string }
	| { http: number; body: string; headers?: Record<string, string> }
	| { throws: string }
	/** never answers: the caller's timeout (its AbortSignal) ends the request */
	| { hang: true };

export interface Delivery {
	url: string;
	headers: Record<string, string>;
	body: string;
	json: { type: string; timestamp: string; data: Record<string, unknown> };
}

export type ReceiverAnswer =
	| number
	| { status: number; headers?: Record<string, string> }
	| { throws: string }
	| { hang: true };

/** A request that never answers, until the caller's signal aborts it (as a real timeout does). */
function hang(signal: AbortSignal | null | undefined): Promise<Response> {
	return new Promise((_resolve, reject) => {
		signal?.addEventListener("abort", () =>
			reject(signal.reason ?? new DOMException("aborted", "AbortError")),
		);
	});
}

export class Fakes {
	/** per asset: answers consumed in order; the last one repeats */
	upstream = new Map<string, UpstreamAnswer[]>();
	upstreamCalls: { assetId: string; apiKey: string | null; at: number }[] = [];
	/** per callback URL: answers consumed in order; the last one repeats (default 204) */
	receivers = new Map<string, ReceiverAnswer[]>();
	deliveries: Delivery[] = [];
	/** Receiver origins that refuse every connection (nothing reaches them: not in `deliveries`) */
	downOrigins = new Set<string>();
	/** Attempts refused because their origin was down */
	refused: { url: string; at: number }[] = [];
	private spy: ReturnType<typeof vi.spyOn> | null = null;

	install(): this {
		this.spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
			const req = new Request(input as RequestInfo, init as RequestInit);
			const url = new URL(req.url);
			const signal = (init as RequestInit | undefined)?.signal;
			if (url.origin === UPSTREAM) return this.answerUpstream(req, url, signal);
			return this.answerReceiver(req, signal, init as RequestInit | undefined);
		});
		return this;
	}

	uninstall(): void {
		this.spy?.mockRestore();
	}

	script(assetId: string, ...answers: UpstreamAnswer[]): void {
		this.upstream.set(assetId, answers);
	}

	receiver(url: string, ...answers: ReceiverAnswer[]): void {
		this.receivers.set(url, answers);
	}

	callsFor(assetId: string): number {
		return this.upstreamCalls.filter((c) => c.assetId === assetId).length;
	}

	deliveriesTo(url: string): Delivery[] {
		return this.deliveries.filter((d) => d.url === url);
	}

	private next<T>(queue: T[] | undefined): T | undefined {
		if (!queue || queue.length === 0) return undefined;
		return queue.length > 1 ? queue.shift() : queue[0];
	}

	private async answerUpstream(req: Request, url: URL, signal?: AbortSignal | null): Promise<Response> {
		const assetId = url.searchParams.get("asset_id") ?? "";
		this.upstreamCalls.push({ assetId, apiKey: req.headers.get("x-api-key"), at: clock.now() });
		const a = this.next(this.upstream.get(assetId)) ?? {
			http: 200,
			body: JSON.stringify({ code: 404, message: "asset not found", data: null }),
		};
		if ("throws" in a) throw new TypeError(a.throws);
		if ("hang" in a) return hang(signal);
		if ("http" in a) return new Response(a.body, { status: a.http, headers: a.headers });
		return Response.json({
			code: 200,
			message: a.message ?? "success",
			data: {
				AssetId: assetId,
				Name: `name-of-${assetId}`,
				AssetType: "Video",
				Status: a.status,
				CreateTime: "2026-11-28T10:00:00Z",
				UpdateTime: 1795860000,
				...a.data,
			},
		});
	}

	private async answerReceiver(
		req: Request,
		signal?: AbortSignal | null,
		init?: RequestInit,
	): Promise<Response> {
		if (this.downOrigins.has(new URL(req.url).origin)) {
			this.refused.push({ url: req.url, at: clock.now() });
			throw new TypeError("connect ECONNREFUSED");
		}
		const body = await req.text();
		const headers = Object.fromEntries(req.headers);
		this.deliveries.push({ url: req.url, headers, body, json: JSON.parse(body) });
		const a = this.next(this.receivers.get(req.url)) ?? 204;
		if (typeof a === "number") return new Response(null, { status: a });
		if ("throws" in a) throw new TypeError(a.throws);
		if ("hang" in a) return hang(signal);
		const location = a.headers?.location;
		// Like a real fetch: a redirect is followed unless the caller asked for "manual".
		if (location && a.status >= 300 && a.status < 400 && (init?.redirect ?? "follow") !== "manual")
			return this.answerReceiver(
				new Request(location, { method: "POST", headers: req.headers, body }),
				signal,
			);
		return new Response(null, { status: a.status, headers: a.headers });
	}
}

/** A virtual clock well ahead of real time, so real alarms set by the objects never fire on their own. */
let latestVirtualTime = 0;

export class VirtualClock {
	// Never behind an earlier test's clock: per-token counts and leases must not see time run backwards.
	private _t = Math.max(Date.now() + 10 * 365 * 86_400_000, latestVirtualTime + 3_600_000);
	/** waits on this clock (`clock.sleep`), ended by moving the clock past them */
	private sleepers = new Set<object>();
	constructor() {
		latestVirtualTime = Math.max(latestVirtualTime, this._t);
	}
	get t(): number {
		return this._t;
	}
	set t(value: number) {
		this._t = value;
		latestVirtualTime = Math.max(latestVirtualTime, value);
	}
	/** How many `clock.sleep` waits are pending on this clock. */
	get sleeping(): number {
		return this.sleepers.size;
	}
	install(): this {
		clock.now = () => this.t;
		clock.random = () => 0.5;
		// A wait is ended by a timer of its own context, looking at this clock: a promise resolved
		// from the test's context could not do I/O for the Durable Object that waits on it.
		clock.sleep = (ms, signal) =>
			new Promise<void>((resolve) => {
				const until = this.t + ms;
				const sleeper = {};
				this.sleepers.add(sleeper);
				const tick = () => {
					if (this.t < until && !signal?.aborted && this.sleepers.has(sleeper)) {
						setTimeout(tick, 2);
						return;
					}
					this.sleepers.delete(sleeper);
					resolve();
				};
				tick();
			});
		return this;
	}
	advance(ms: number): number {
		this.t += ms;
		return this.t;
	}
	uninstall(): void {
		clock.now = () => Date.now();
		clock.random = () => Math.random();
		clock.sleep = sleepFor;
		// Nothing is left waiting on a clock that no longer moves.
		this.sleepers.clear();
	}
}

export interface CallOptions {
	token?: string | null;
	body?: unknown;
	headers?: Record<string, string>;
}

/** A request through the worker's own fetch handler, as a client would make it. */
export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
	const headers = new Headers(opts.headers);
	const token = opts.token === undefined ? TOKEN_A : opts.token;
	if (token !== null) headers.set("authorization", `Bearer ${token}`);
	let body: BodyInit | undefined;
	if (opts.body !== undefined) {
		body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
		if (!headers.has("content-type")) headers.set("content-type", "application/json");
	}
	return exports.default.fetch(new Request(`https://watcher.test${path}`, { method, headers, body }));
}

export async function json<T = Record<string, unknown>>(res: Response): Promise<T> {
	return (await res.json()) as T;
}

/**
 * Installs fresh fakes and a virtual clock around every test of the file that calls it;
 * `resetStorage` also empties every Durable Object first (storage is otherwise per file).
 */
export function useFakeWorld(options: { resetStorage?: boolean } = {}): {
	readonly fakes: Fakes;
	readonly vclock: VirtualClock;
} {
	const world = {} as { fakes: Fakes; vclock: VirtualClock };
	beforeEach(async () => {
		if (options.resetStorage) await reset();
		world.fakes = new Fakes().install();
		world.vclock = new VirtualClock().install();
	});
	afterEach(() => {
		world.fakes.uninstall();
		world.vclock.uninstall();
	});
	return world;
}

/**
 * The tight rate limiter of vitest.config.ts (a limit of 5 blocks of REQUESTS_PER_CALL requests: 50 a
 * minute), for tests to put in RATE_LIMITER's place.
 */
export const RATE_LIMITER_TEST = (env as unknown as { RATE_LIMITER_TEST: RateLimit }).RATE_LIMITER_TEST;
/** What RATE_LIMITER_TEST allows a minute. */
export const TEST_RATE_PER_MINUTE = 50;

let uniqueCounter = 0;
/** An asset id no other test of the run uses (storage is shared within a test file). */
export const unique = (prefix: string) =>
	`${prefix}-${++uniqueCounter}-${Math.random().toString(36).slice(2, 8)}`;
