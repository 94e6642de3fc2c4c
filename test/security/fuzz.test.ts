// Property-based tests over every route: arbitrary bodies (JSON or not), content types, lying
// Content-Lengths, headers, query strings and paths. Whatever arrives, the answer is never a 5xx
// caused by the input, always carries x-request-id, and every error is the envelope
// `{ error: { code, message, details? } }`. A 4xx changes nothing: the watch and asset read back
// identically, no watch appears (the index counts none more for the token), and no request went upstream or to a receiver.

import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { app } from "../../src/app";
import { hashToken } from "../../src/core/ids";
import { liveWatchCount } from "../../src/watch-index/reads";
import { AssetWatcher, assetWatcher } from "../../src/watcher/asset-watcher";
import { Fakes, TOKEN_A, TOKEN_B, VirtualClock } from "../support/fakes";
import { originStubOf, stepUntil } from "../support/steps";
import { UploadFake } from "../support/upload-fake";

const RUNS = 100;
const TIMEOUT = 60_000;
// Metering would turn most runs into 429s; the rate limit has its own tests.
const fuzzEnv = { ...env, RATE_LIMIT_PER_MINUTE: "0" } as unknown as Env;

let fakes: Fakes;
let uploads: UploadFake;
let vclock: VirtualClock;
/**
 * Watches created by any request, counted where they are written (the asset objects run in this
 * isolate): the index learns of a new watch only in the alarm after its registration.
 */
let created = 0;
const register = AssetWatcher.prototype.register;
let counting: { mockRestore(): void } | null = null;
beforeEach(() => {
	fakes = new Fakes().install();
	uploads = new UploadFake().install();
	vclock = new VirtualClock().install();
	counting = vi.spyOn(AssetWatcher.prototype, "register").mockImplementation(async function (
		this: AssetWatcher,
		...args: Parameters<AssetWatcher["register"]>
	) {
		const result = await register.apply(this, args);
		if (result.ok && result.value.created) created++;
		return result;
	});
});
afterEach(() => {
	counting?.mockRestore();
	fakes.uninstall();
	vclock.uninstall();
});

const WATCHED = "fz-watched";
const FRESH = "fz-fresh";
const RECEIVER = "https://receiver.example/fz";
/** A watch of this token whose delivery failed: what a refused bulk redelivery must leave failed. */
const FAILED = "fz-failed";
const FAILED_URL = "https://failing.example/fz";
let watchId = "";
let failedId = "";
let owner = "";

/** Gives one object other settings (its instance keeps them for the file). */
async function withVars(stub: DurableObjectStub, vars: Record<string, string>): Promise<void> {
	await runInDurableObject(stub, (instance) => {
		const o = instance as unknown as { env: Env };
		o.env = { ...o.env, ...vars } as unknown as Env;
	});
}

/** Brings the failed watch back to `failed` after a bulk call that was allowed to redeliver it. */
async function failAgain(f: Fakes, c: VirtualClock): Promise<void> {
	f.receiver(FAILED_URL, 500);
	await stepUntil(c, FAILED, async () => {
		const res = await send("GET", `/v1/watches/${failedId}`);
		return ((await res.json()) as { state: string }).state === "failed";
	});
}

beforeAll(async () => {
	const f = new Fakes().install();
	const c = new VirtualClock().install();
	try {
		f.script(WATCHED, { status: "Processing" });
		const res = await send("POST", "/v1/watches", {
			body: JSON.stringify({
				asset_id: WATCHED,
				callback_url: RECEIVER,
				metadata: { k: 1 },
				callback_headers: { "x-auth": "s" },
			}),
		});
		expect(res.status).toBe(201);
		watchId = ((await res.json()) as { id: string }).id;
		owner = await hashToken(TOKEN_A);
		// One retry a second later, and an origin that is never paused, so it fails quickly and again.
		await withVars(env.ASSET_WATCHER.getByName(FAILED), { DELIVERY_SCHEDULE_S: "1" });
		await withVars(await originStubOf({ owner, origin: new URL(FAILED_URL).origin }), {
			RECEIVER_TRIP_FAILURES: "1000000",
		});
		f.script(FAILED, { status: "Active" });
		const failed = await send("POST", "/v1/watches", {
			body: JSON.stringify({ asset_id: FAILED, callback_url: FAILED_URL }),
		});
		failedId = ((await failed.json()) as { id: string }).id;
		await failAgain(f, c);
	} finally {
		f.uninstall();
		c.uninstall();
	}
});

type Sent = { method: string; path: string; headers?: Record<string, string>; body?: string | Uint8Array };

async function send(
	method: string,
	path: string,
	opts: Omit<Sent, "method" | "path"> = {},
): Promise<Response> {
	const headers = new Headers(opts.headers);
	if (!headers.has("authorization")) headers.set("authorization", `Bearer ${TOKEN_A}`);
	if (opts.body !== undefined && !headers.has("content-type"))
		headers.set("content-type", "application/json");
	const body = method === "GET" || method === "HEAD" ? undefined : opts.body;
	return app.request(path, { method, headers, body }, fuzzEnv);
}

/** What a 4xx must leave untouched. */
async function snapshot() {
	const text = async (r: Response) => `${r.status} ${await r.text()}`;
	return {
		watch: await text(await send("GET", `/v1/watches/${watchId}`)),
		failed: await text(await send("GET", `/v1/watches/${failedId}`)),
		// From the asset's object itself: the edge may keep a Processing answer until the next check.
		asset: JSON.stringify(await assetWatcher(env, WATCHED).lookup(WATCHED, false)),
		fresh: await runInDurableObject(
			env.ASSET_WATCHER.getByName(FRESH),
			(_o, state) => state.storage.sql.exec("SELECT name FROM sqlite_master").toArray().length,
		),
		live: await liveWatchCount(env, owner),
		created,
	};
}

let known: Awaited<ReturnType<typeof snapshot>> | null = null;
const outbound = () => fakes.upstreamCalls.length + fakes.deliveries.length + uploads.uploads.length;

/**
 * Sends one fuzzed request and checks the properties. `consults` says which error codes are the
 * answer of an upstream call the route is meant to make (an unknown asset, a refused upload).
 */
async function check(req: Sent, consults: string[] = []): Promise<void> {
	known ??= await snapshot();
	const before = outbound();
	let res: Response;
	try {
		res = await send(req.method, req.path, req);
	} catch (err) {
		// Only a request the test itself could not build (an invalid URL) may throw here.
		if (err instanceof TypeError && /URL|header/i.test(err.message)) return;
		throw err;
	}
	const label = `${req.method} ${req.path} → ${res.status}`;
	expect(res.headers.get("x-request-id"), label).toBeTruthy();
	const text = req.method === "HEAD" ? "" : await res.text();
	let code = "";
	if (res.status >= 400 && req.method !== "HEAD") {
		let body: unknown;
		expect(
			() => {
				body = JSON.parse(text);
			},
			`${label}: ${text.slice(0, 200)}`,
		).not.toThrow();
		expect(res.headers.get("content-type"), label).toMatch(/^application\/json/);
		const b = body as { error?: Record<string, unknown> };
		expect(Object.keys(b), label).toEqual(["error"]);
		expect(typeof b.error?.code, label).toBe("string");
		expect(typeof b.error?.message, label).toBe("string");
		expect(
			Object.keys(b.error ?? {}).every((k) => ["code", "message", "details"].includes(k)),
			label,
		).toBe(true);
		code = String(b.error?.code);
	}
	const after = outbound();
	// A HEAD answer has no body to name its error: when it consulted the upstream, the same request
	// as a GET says which error that was (and is itself answered from the lookup's coalescing cache).
	if (req.method === "HEAD" && res.status >= 400 && after > before) {
		const twin = await send("GET", req.path, req);
		code = String(((await twin.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code ?? "");
	}
	const upstreamAnswer = consults.includes(code) && after > before;
	if (res.status >= 500) expect(upstreamAnswer, `${label}: ${text.slice(0, 300)}`).toBe(true);
	if (res.status >= 400) {
		if (!upstreamAnswer) expect(after, `${label}: made an outbound request`).toBe(before);
		expect(await snapshot(), `${label}: changed state`).toEqual(known);
	} else {
		known = null;
	}
}

// ---- generators ---------------------------------------------------------------------------

const assetIds = fc.oneof(
	fc.constantFrom(
		WATCHED,
		FRESH,
		"",
		".",
		"a".repeat(128),
		"a".repeat(129),
		"a/b",
		"a b",
		"é",
		"..",
		"%2e%2e",
	),
	fc.stringMatching(/^[A-Za-z0-9._:-]{1,12}$/).map((s) => `fz-${s}`),
	fc.string({ maxLength: 40 }),
);
const urls = fc.oneof(
	fc.constantFrom(
		RECEIVER,
		"http://receiver.example/x",
		"https://127.0.0.1/",
		"https://[::1]/",
		"https://localhost./",
		"https://user:pw@receiver.example/",
		"https://receiver.example:8443/",
		"javascript:alert(1)",
		"",
		`https://receiver.example/${"a".repeat(3000)}`,
	),
	fc.webUrl(),
	fc.string({ maxLength: 60 }),
);
const headerName = fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/);
const anyJson = fc.jsonValue({ maxDepth: 4 });
const registration = fc.record(
	{
		asset_id: fc.oneof(assetIds, anyJson),
		callback_url: fc.oneof(urls, anyJson),
		events: fc.oneof(
			fc.array(fc.constantFrom("asset.active", "asset.failed", "watch.expired", "asset.ACTIVE", ""), {
				maxLength: 4,
			}),
			anyJson,
		),
		metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 5 }), anyJson),
		callback_headers: fc.oneof(
			fc.dictionary(
				fc.oneof(headerName, fc.constantFrom("Host", "webhook-id", "content-type", "TE")),
				headerValue,
				{
					maxKeys: 12,
				},
			),
			anyJson,
		),
		unknown_field: anyJson,
	},
	{ requiredKeys: [] },
);
/** A valid registration with one field replaced: most runs fail on exactly that field. */
const nearlyValid = fc
	.record({
		asset: fc.constantFrom(WATCHED, FRESH, "fz-other"),
		path: fc.stringMatching(/^[a-z0-9]{0,6}$/),
		field: fc.constantFrom("asset_id", "callback_url", "events", "metadata", "callback_headers", "extra"),
		value: fc.oneof(anyJson, assetIds, urls),
	})
	.map(({ asset, path, field, value }) =>
		JSON.stringify({ asset_id: asset, callback_url: `${RECEIVER}/${path}`, [field]: value }),
	);
const nested = fc
	.integer({ min: 1, max: 30_000 })
	.map(
		(d) =>
			`{"asset_id":"fz-deep","callback_url":"${RECEIVER}","metadata":{"a":${"[".repeat(d)}${"]".repeat(d)}}}`,
	);
const bodies = fc.oneof(
	{ arbitrary: registration.map((r) => JSON.stringify(r)), weight: 2 },
	{ arbitrary: nearlyValid, weight: 3 },
	anyJson.map((j) => JSON.stringify(j)),
	fc.string({ maxLength: 200 }),
	fc.constantFrom(
		"",
		"{",
		"}",
		"[]",
		"null",
		"{}",
		'{"asset_id":',
		"\u0000",
		"\ufeff{}",
		'{"__proto__":{"x":1}}',
		'{"constructor":{"prototype":{}}}',
	),
	nested,
);
// Mostly JSON, so that most runs get past the content-type check into validation.
const contentTypes = fc.oneof(
	{ arbitrary: fc.constant("application/json"), weight: 6 },
	fc.constantFrom(
		"application/json",
		"application/json; charset=utf-8",
		"Application/JSON",
		"application/problem+json",
		"text/plain",
		"text/json",
		"application/x-www-form-urlencoded",
		"multipart/form-data; boundary=x",
		"application/jsonx",
		"",
	),
	headerValue,
);
const contentLengths = fc.option(
	fc.constantFrom("0", "1", "-1", "abc", "1e3", "99999999999", " 5", "65537", "3.5"),
	{
		nil: undefined,
		freq: 3,
	},
);
const extraHeaders = fc.dictionary(
	fc.oneof(
		headerName,
		fc.constantFrom(
			"if-none-match",
			"x-request-id",
			"accept",
			"transfer-encoding",
			"x-forwarded-for",
			"origin",
		),
	),
	headerValue,
	{ maxKeys: 4 },
);
const bodyHeaders = fc
	.record({ type: contentTypes, length: contentLengths, extra: extraHeaders })
	.map(({ type, length, extra }) => {
		const h: Record<string, string> = { ...extra };
		delete h.authorization;
		delete h["content-length"];
		h["content-type"] = type;
		if (length !== undefined) h["content-length"] = length;
		return h;
	});
const watchIds = fc.oneof(
	fc.string({ maxLength: 60 }),
	fc.stringMatching(/^w_[a-z2-7]{20}_[A-Za-z0-9_-]{2,30}$/),
	fc
		.nat({ max: 40 })
		.map((i) =>
			i < watchId.length
				? watchId.slice(0, i) + (watchId[i] === "a" ? "b" : "a") + watchId.slice(i + 1)
				: `${watchId}x`,
		),
	fc.constantFrom("", "w_", "..", "%00", "%2F", "w_aaaaaaaaaaaaaaaaaaaa_", `${"w".repeat(500)}`),
);
/** A path segment as a client might send it: percent-encoded, or raw (then it may add segments). */
const segment = <T extends string>(arb: fc.Arbitrary<T>) =>
	fc.tuple(arb, fc.boolean()).map(([s, encode]) => (encode ? encodeURIComponent(s) : s.replace(/[#?]/g, "")));
const queries = fc
	.dictionary(
		fc.oneof(
			fc.constantFrom("asset_id", "state", "limit", "cursor", "refresh", "x"),
			fc.string({ maxLength: 8 }),
		),
		fc.oneof(
			fc.string({ maxLength: 40 }),
			fc.constantFrom("true", "false", "0", "-1", "1000", "watching", "Active", "%", ""),
		),
		{ maxKeys: 4 },
	)
	.map((q) => {
		const s = new URLSearchParams(q).toString();
		return s ? `?${s}` : "";
	});
const rawQueries = fc.oneof(
	queries,
	fc.string({ maxLength: 40 }).map((s) => `?${s.replace(/#/g, "")}`),
);

// ---- properties ---------------------------------------------------------------------------

describe("fuzzed requests never crash, always answer the envelope, and a 4xx changes nothing", () => {
	it(
		"POST /v1/watches",
		async () => {
			await fc.assert(
				fc.asyncProperty(bodies, bodyHeaders, async (body, headers) => {
					await check({ method: "POST", path: "/v1/watches", headers, body });
				}),
				{ numRuns: RUNS * 1.5 },
			);
		},
		TIMEOUT,
	);

	it(
		"POST /v1/watches/batch",
		async () => {
			const batch = fc.oneof(
				fc
					.array(fc.oneof(registration, anyJson), { maxLength: 120 })
					.map((w) => JSON.stringify({ watches: w })),
				registration.map((r) => JSON.stringify({ watches: r })),
				bodies,
			);
			await fc.assert(
				fc.asyncProperty(batch, bodyHeaders, async (body, headers) => {
					await check({ method: "POST", path: "/v1/watches/batch", headers, body });
				}),
				{ numRuns: RUNS },
			);
		},
		TIMEOUT,
	);

	it(
		"GET, DELETE and redeliver of arbitrary watch ids",
		async () => {
			await fc.assert(
				fc.asyncProperty(
					fc.constantFrom("GET", "DELETE", "POST"),
					segment(watchIds),
					rawQueries,
					fc.option(bodies, { nil: undefined }),
					bodyHeaders,
					async (method, id, query, body, headers) => {
						// DELETE of the real watch is a legitimate cancel, not a fuzzed request.
						fc.pre(
							!(
								method === "DELETE" && decodeURIComponent(id.replace(/%(?![0-9a-f]{2})/gi, "%25")) === watchId
							),
						);
						const path = `/v1/watches/${id}${method === "POST" ? "/redeliver" : ""}${query}`;
						await check({ method, path, headers: body === undefined ? {} : headers, body });
					},
				),
				{ numRuns: RUNS * 1.5 },
			);
		},
		TIMEOUT,
	);

	it(
		"GET /v1/watches with arbitrary queries",
		async () => {
			await fc.assert(
				fc.asyncProperty(rawQueries, async (query) => {
					await check({ method: "GET", path: `/v1/watches${query}` });
				}),
				{ numRuns: RUNS },
			);
		},
		TIMEOUT,
	);

	it(
		"GET /v1/assets/:asset_id with arbitrary ids, queries and conditional headers",
		async () => {
			await fc.assert(
				fc.asyncProperty(segment(assetIds), rawQueries, extraHeaders, async (id, query, headers) => {
					// A forced refresh of the watched asset is a legitimate check (200, or 429 within 5 s).
					fc.pre(!(id === WATCHED && query.includes("refresh=true")));
					await check({ method: "GET", path: `/v1/assets/${id}${query}`, headers }, [
						"asset_not_found",
						"invalid_asset_id",
						"upstream_error",
					]);
				}),
				{ numRuns: RUNS },
			);
		},
		TIMEOUT,
	);

	it(
		"POST /v1/assets/upload",
		async () => {
			const upload = fc.record(
				{
					name: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
					asset_type: fc.oneof(fc.constantFrom("Image", "Video", "Audio", "image", ""), anyJson),
					asset_url: fc.oneof(urls, anyJson),
					callback_url: fc.oneof(urls, anyJson),
					metadata: anyJson,
				},
				{ requiredKeys: [] },
			);
			await fc.assert(
				fc.asyncProperty(
					fc.oneof(
						upload.map((u) => JSON.stringify(u)),
						bodies,
					),
					bodyHeaders,
					async (body, headers) => {
						await check({ method: "POST", path: "/v1/assets/upload", headers, body }, [
							"upstream_error",
							"upstream_rejected",
							"upstream_rate_limited",
						]);
					},
				),
				{ numRuns: RUNS },
			);
		},
		TIMEOUT,
	);

	it(
		"POST /v1/watches/redeliver (bulk)",
		async () => {
			const instant = fc.oneof(
				fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
				fc.constantFrom("2026-11-28T17:00:00+01:00", "2026-11-28", "yesterday", "", "2026-13-01T00:00:00Z"),
				anyJson,
			);
			const bulkBody = fc.record(
				{
					state: fc.oneof(
						fc.constantFrom("failed", "delivered", "cancelled", "notifying", "FAILED", ""),
						anyJson,
					),
					since: instant,
					until: instant,
					asset_id: fc.oneof(assetIds, fc.constant(FAILED), anyJson),
					limit: fc.oneof(fc.integer({ min: -5, max: 200 }), anyJson),
					cursor: fc.oneof(fc.string({ maxLength: 40 }), fc.constant("WzEsIngiXQ"), anyJson),
					extra: anyJson,
				},
				{ requiredKeys: [] },
			);
			let redeliveredOnce = false;
			await fc.assert(
				fc.asyncProperty(
					fc.oneof(
						{ arbitrary: bulkBody.map((b) => JSON.stringify(b)), weight: 4 },
						// Valid ones too, so that some runs do redeliver the failed watch.
						fc
							.record(
								{
									state: fc.constant("failed"),
									asset_id: fc.constant(FAILED),
									limit: fc.integer({ min: 1, max: 100 }),
								},
								{ requiredKeys: [] },
							)
							.map((b) => JSON.stringify(b)),
						bodies,
					),
					bodyHeaders,
					async (body, headers) => {
						await check({ method: "POST", path: "/v1/watches/redeliver", headers, body });
						if (!redeliveredOnce) redeliveredOnce = fakes.deliveriesTo(FAILED_URL).length > 0;
						// A call that was allowed to redeliver it: failed again for the next run to guard.
						known = null;
						await failAgain(fakes, vclock);
					},
				),
				{ numRuns: RUNS },
			);
			expect(redeliveredOnce).toBe(true);
		},
		TIMEOUT * 2,
	);

	it(
		"GET /v1/receivers with arbitrary queries",
		async () => {
			await fc.assert(
				fc.asyncProperty(rawQueries, async (query) => {
					await check({ method: "GET", path: `/v1/receivers${query}` });
				}),
				{ numRuns: RUNS / 2 },
			);
		},
		TIMEOUT,
	);

	it(
		"GET /v1/stats with arbitrary queries",
		async () => {
			await fc.assert(
				fc.asyncProperty(rawQueries, async (query) => {
					await check({ method: "GET", path: `/v1/stats${query}` });
				}),
				{ numRuns: RUNS / 2 },
			);
		},
		TIMEOUT,
	);

	it(
		"arbitrary methods, paths and credentials",
		async () => {
			const paths = fc.oneof(
				fc.webPath(),
				fc.string({ maxLength: 60 }).map((s) => `/v1/${s.replace(/[#?]/g, "")}`),
				fc.string({ maxLength: 60 }).map((s) => `/${encodeURIComponent(s)}`),
				fc.constantFrom(
					"/",
					"/v1",
					"/v1/",
					"/v1/watches/",
					"/v1//watches",
					"/V1/watches",
					"/v1/assets/",
					"/v1/assets/upload/x",
					"/healthz/",
					"/openapi.json/x",
					"/docs/../v1/watches",
					"/%2e%2e/v1/watches",
					"/v1/watches/%2e%2e/assets/x",
					"/v1/watches/redeliver",
					"/v1/watches/redeliver/",
					"/v1/receivers",
					"/v1/receivers/x",
				),
			);
			const auth = fc.oneof(
				fc.constant(`Bearer ${TOKEN_A}`),
				fc.constant(`Bearer ${TOKEN_B}`),
				headerValue,
				headerValue.map((v) => `Bearer ${v}`),
			);
			await fc.assert(
				fc.asyncProperty(
					fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
					paths,
					rawQueries,
					auth,
					fc.option(bodies, { nil: undefined }),
					bodyHeaders,
					async (method, path, query, authorization, body, headers) => {
						fc.pre(!(method === "DELETE" && path.includes(watchId)));
						const route = path.startsWith("/") ? path : `/${path}`;
						await check({ method, path: `${route}${query}`, headers: { ...headers, authorization }, body }, [
							"asset_not_found",
							"invalid_asset_id",
							"upstream_error",
							"upstream_rejected",
							"upstream_rate_limited",
						]);
					},
				),
				{ numRuns: RUNS * 1.5 },
			);
		},
		TIMEOUT,
	);
});
