// Settings: the wrangler vars and secrets of SPEC §2, validated with zod once per env object
// (so once per isolate) and handed out typed. A missing or invalid variable never crashes a
// request: it is reported by name (never by value) through `/healthz` and 503 `not_configured`.

import { z } from "zod";
import { NotConfiguredError } from "./errors";

const intVar = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const csv = (s: string) =>
	s
		.split(",")
		.map((x) => x.trim())
		.filter((x) => x.length > 0);

const varsSchema = z.object({
	CRUN_API_BASE: z
		.url({ protocol: /^https?$/ })
		.default("https://api.crun.ai")
		.transform((s) => s.replace(/\/+$/, "")),
	POLL_INITIAL_MS: intVar(10, 86_400_000).default(2000),
	POLL_MAX_MS: intVar(10, 86_400_000).default(60_000),
	POLL_BACKOFF: z.coerce.number().min(1).max(10).default(1.5),
	WATCH_TTL_S: intVar(1, 365 * 86_400).default(172_800),
	RETENTION_S: intVar(0, 365 * 86_400).default(604_800),
	CALLBACK_TIMEOUT_MS: intVar(100, 120_000).default(15_000),
	/** per upstream check; SPEC §5 says 10 s */
	UPSTREAM_TIMEOUT_MS: intVar(100, 60_000).default(10_000),
	DELIVERY_SCHEDULE_S: z
		.string()
		.default("5,300,1800,7200,18000,36000,36000")
		.transform(csv)
		.pipe(
			z
				.array(
					z
						.string()
						.regex(/^\d+(\.\d+)?$/, "must be comma-separated seconds")
						.transform(Number)
						.pipe(z.number().max(7 * 86_400)),
				)
				.max(50),
		),
	// true: any http(s) target (tests only); "loopback": http(s) to this machine only (the local demo).
	ALLOW_PRIVATE_CALLBACKS: z
		.enum(["true", "false", "1", "0", "loopback", ""])
		.default("false")
		.transform((s): boolean | "loopback" => (s === "loopback" ? s : s === "true" || s === "1")),
	INDEX_SHARDS: intVar(1, 256).default(16),
	MAX_WATCHES_PER_ASSET: intVar(1, 100_000).default(1000),
	MAX_WATCHES_PER_TOKEN: intVar(1, 10_000_000).default(100_000),
	RATE_LIMIT_PER_MINUTE: intVar(0, 1_000_000).default(600),
	/** consecutive failed attempts to one callback origin that pause it (docs/delivery.md) */
	RECEIVER_TRIP_FAILURES: intVar(1, 10_000).default(10),
	/** while an origin is paused, one probe attempt per this many seconds */
	RECEIVER_PROBE_S: intVar(1, 86_400).default(60),
	/** where checks go (docs/polling.md) */
	POLL_STRATEGY: z.enum(["adaptive", "backoff"]).default("adaptive"),
	/** asset-info calls per second for the whole deployment (0: no budget); src/upstream-budget/ */
	UPSTREAM_MAX_RPS: z.coerce.number().min(0).max(100_000).default(20),
});

const webhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "must be whsec_ followed by base64");

export type Vars = z.output<typeof varsSchema>;

/** A client's own signing secrets from CLIENT_WEBHOOK_SECRETS, or why its entry cannot be used. */
export type ClientSecrets = { secrets: string[] } | { problem: string };

export interface Config extends Vars {
	CRUN_API_KEY?: string;
	API_TOKENS: string[];
	WEBHOOK_SECRETS: string[];
	/**
	 * CLIENT_WEBHOOK_SECRETS by client name (the `client` of a `client:token` entry of API_TOKENS);
	 * `unreadable` when the value is not a JSON object at all, so no client's entry can be trusted.
	 */
	CLIENT_WEBHOOK_SECRETS: {
		unreadable: boolean;
		clients: Map<string, ClientSecrets>;
		/** every value written in it, usable or not (the egress filter withholds them all) */
		values: string[];
	};
	/** optional: mixed into the dashboard's session keys (src/dashboard/session.ts) */
	DASHBOARD_SESSION_SECRET?: string;
	/** names of required secrets that are absent */
	missing: string[];
	/** names of variables whose value failed validation, with why (never the value) */
	invalid: { name: string; problem: string }[];
}

export const SECRET_NAMES = ["CRUN_API_KEY", "API_TOKENS", "WEBHOOK_SECRET"] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
	const cached = cache.get(env);
	if (cached) return cached;
	const config = parseConfig(env as unknown as Record<string, unknown>);
	cache.set(env, config);
	return config;
}

export function parseConfig(raw: Record<string, unknown>): Config {
	const invalid: Config["invalid"] = [];
	const defaults = varsSchema.parse({});
	const vars: Record<string, unknown> = { ...defaults };
	for (const [name, schema] of Object.entries(varsSchema.shape)) {
		const value = raw[name];
		if (value === undefined || value === null || value === "") continue;
		const parsed = (schema as z.ZodType).safeParse(typeof value === "string" ? value.trim() : String(value));
		if (parsed.success) vars[name] = parsed.data;
		else invalid.push({ name, problem: parsed.error.issues[0]?.message ?? "invalid" });
	}
	const settings = vars as Vars;
	if (settings.POLL_MAX_MS < settings.POLL_INITIAL_MS) {
		invalid.push({ name: "POLL_MAX_MS", problem: "must be at least POLL_INITIAL_MS" });
		settings.POLL_MAX_MS = settings.POLL_INITIAL_MS;
	}

	// The binding's limit is fixed in wrangler.toml, so the runtime can only see whether it is there.
	if (
		settings.RATE_LIMIT_PER_MINUTE > 0 &&
		typeof (raw.RATE_LIMITER as Partial<RateLimit>)?.limit !== "function"
	)
		invalid.push({
			name: "RATE_LIMITER",
			problem: "the rate-limit binding is missing, so RATE_LIMIT_PER_MINUTE is not enforced",
		});

	const missing: string[] = [];
	const str = (name: string) => {
		const v = raw[name];
		return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
	};
	const crunKey = str("CRUN_API_KEY");
	if (!crunKey) missing.push("CRUN_API_KEY");
	const tokens = csv(str("API_TOKENS") ?? "");
	if (tokens.length === 0) missing.push("API_TOKENS");
	const secrets = (str("WEBHOOK_SECRET") ?? "").split(/\s+/).filter(Boolean);
	if (secrets.length === 0) missing.push("WEBHOOK_SECRET");
	else if (!secrets.every((s) => webhookSecret.safeParse(s).success))
		invalid.push({ name: "WEBHOOK_SECRET", problem: "each secret must be whsec_ followed by base64" });

	const clientSecrets = parseClientSecrets(raw.CLIENT_WEBHOOK_SECRETS, tokens, secrets, invalid);

	const sessionSecret = str("DASHBOARD_SESSION_SECRET");
	if (sessionSecret !== undefined && sessionSecret.length < 32)
		invalid.push({ name: "DASHBOARD_SESSION_SECRET", problem: "must be at least 32 characters when set" });

	return {
		...settings,
		CRUN_API_KEY: crunKey,
		DASHBOARD_SESSION_SECRET: sessionSecret,
		API_TOKENS: tokens,
		WEBHOOK_SECRETS: secrets,
		CLIENT_WEBHOOK_SECRETS: clientSecrets,
		missing,
		invalid,
	};
}

/**
 * The client an API_TOKENS entry names (`client:token`), or null for a bare token. Bearer tokens
 * cannot contain ":" (RFC 6750 b64token), so the first one separates the client's name.
 */
export function clientOfTokenEntry(entry: string): { client: string; token: string } | null {
	const colon = entry.indexOf(":");
	return colon <= 0 ? null : { client: entry.slice(0, colon), token: entry.slice(colon + 1) };
}

function clientNames(tokens: readonly string[]): Set<string> {
	const names = new Set<string>();
	for (const entry of tokens) {
		const named = clientOfTokenEntry(entry);
		if (named) names.add(named.client);
	}
	return names;
}

/**
 * CLIENT_WEBHOOK_SECRETS (optional): `{ "<client>": "whsec_…" | ["whsec_…", …] }`. Each entry is
 * checked on its own, so one bad entry holds only that client's callbacks. A problem names the
 * entry by its client only when that is a client of API_TOKENS (a key that is not may be a value
 * pasted in the wrong place), and never shows a value. Two clients sharing a secret, or a client
 * sharing one with WEBHOOK_SECRET, could verify (so forge) each other's callbacks: both refused.
 */
function parseClientSecrets(
	value: unknown,
	tokens: readonly string[],
	shared: readonly string[],
	invalid: Config["invalid"],
): Config["CLIENT_WEBHOOK_SECRETS"] {
	const clients = new Map<string, ClientSecrets>();
	if (typeof value !== "string" || value.trim() === "") return { unreadable: false, clients, values: [] };
	// What is written as a value may be a secret, usable or not (keys are client names). When the
	// text does not parse, every quoted string not followed by ":" and every whsec_ word counts.
	const values = [...value.matchAll(/"([^"\\]+)"(?!\s*:)/g)].map((m) => m[1] as string);
	values.push(...value.split(/[\s,[\]{}:"]+/).filter((w) => w.startsWith("whsec_")));
	const report = (problem: string) => invalid.push({ name: "CLIENT_WEBHOOK_SECRETS", problem });
	let parsed: unknown;
	try {
		parsed = JSON.parse(value);
	} catch {
		parsed = null;
	}
	if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
		report('must be a JSON object { "<client>": "whsec_…" | ["whsec_…", …] }');
		return { unreadable: true, clients, values };
	}
	const known = clientNames(tokens);
	const entries = Object.entries(parsed);
	const label = (client: string) =>
		known.has(client) ? `client "${client}"` : `entry ${entries.findIndex(([c]) => c === client) + 1}`;
	const refuse = (client: string, problem: string) => {
		if ("problem" in (clients.get(client) ?? {})) return;
		clients.set(client, { problem });
		report(`${label(client)}: ${problem}`);
	};
	/** Which entry each secret came from ("" for WEBHOOK_SECRET). */
	const holders = new Map<string, string>(shared.map((s) => [s, ""]));
	for (const [client, entry] of entries) {
		const list = typeof entry === "string" ? entry.split(/\s+/).filter(Boolean) : entry;
		if (!Array.isArray(list) || list.length === 0 || list.some((s) => typeof s !== "string")) {
			refuse(client, 'must be "whsec_…" or a non-empty array of them');
			continue;
		}
		const own = [...new Set(list as string[])];
		if (!own.every((s) => webhookSecret.safeParse(s).success)) {
			refuse(client, "each secret must be whsec_ followed by base64");
			continue;
		}
		clients.set(client, { secrets: own });
		for (const s of own) {
			const holder = holders.get(s);
			if (holder === "") refuse(client, "a secret is also in WEBHOOK_SECRET; each client needs its own");
			else if (holder !== undefined) {
				refuse(client, "shares a secret with another client; each client needs its own");
				refuse(holder, "shares a secret with another client; each client needs its own");
			} else holders.set(s, client);
		}
	}
	return { unreadable: false, clients, values };
}

/**
 * Throws 503 `not_configured` when any of `names` is missing or invalid, saying which, with the
 * same problem text `/healthz` gives (names and rules only, never a value).
 */
export function requireConfig(config: Config, ...names: SecretName[]): void {
	const missing = names.filter((n) => config.missing.includes(n));
	const invalid = config.invalid.filter((i) => (names as string[]).includes(i.name));
	if (missing.length > 0 || invalid.length > 0) throw new NotConfiguredError(missing, invalid);
}
