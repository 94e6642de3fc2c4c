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
	ALLOW_PRIVATE_CALLBACKS: z
		.enum(["true", "false", "1", "0", ""])
		.default("false")
		.transform((s) => s === "true" || s === "1"),
	INDEX_SHARDS: intVar(1, 256).default(16),
	MAX_WATCHES_PER_ASSET: intVar(1, 100_000).default(1000),
	MAX_WATCHES_PER_TOKEN: intVar(1, 10_000_000).default(100_000),
	RATE_LIMIT_PER_MINUTE: intVar(0, 1_000_000).default(600),
	/** SPEC §5: where checks go (docs/polling.md) */
	POLL_STRATEGY: z.enum(["adaptive", "backoff"]).default("adaptive"),
	/** asset-info calls per second for the whole deployment (0: no budget); src/upstream-budget/ */
	UPSTREAM_MAX_RPS: z.coerce.number().min(0).max(100_000).default(20),
});

const webhookSecret = z.string().regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "must be whsec_ followed by base64");

export type Vars = z.output<typeof varsSchema>;

export interface Config extends Vars {
	CRUN_API_KEY?: string;
	API_TOKENS: string[];
	WEBHOOK_SECRETS: string[];
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

	const sessionSecret = str("DASHBOARD_SESSION_SECRET");
	if (sessionSecret !== undefined && sessionSecret.length < 32)
		invalid.push({ name: "DASHBOARD_SESSION_SECRET", problem: "must be at least 32 characters when set" });

	return {
		...settings,
		CRUN_API_KEY: crunKey,
		DASHBOARD_SESSION_SECRET: sessionSecret,
		API_TOKENS: tokens,
		WEBHOOK_SECRETS: secrets,
		missing,
		invalid,
	};
}

/** Throws 503 `not_configured` when any of `names` is missing or invalid. */
export function requireConfig(config: Config, ...names: SecretName[]): void {
	const absent = names.filter((n) => config.missing.includes(n) || config.invalid.some((i) => i.name === n));
	if (absent.length > 0) throw new NotConfiguredError(absent);
}
