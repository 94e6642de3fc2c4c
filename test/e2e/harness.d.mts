// Types for test/e2e/harness.mjs, the local-runtime harness, so TypeScript tests can drive it.
// Kept free of Node typings: the project type-checks against the Workers types only.

/** What the runtime process needs to serve the bundled worker (cached per bundle). */
export interface BuiltWorker {
	name: string;
	scriptPath: string;
	compatibilityDate: string;
	compatibilityFlags: string[];
	/** wrangler.toml's [vars] */
	bindings: Record<string, string>;
	durableObjects: Record<string, { className: string; useSQLite?: boolean }>;
	cronTriggers: string[];
	/** wrangler.toml [assets] as miniflare takes it (directory, binding, router settings) */
	assets?: Record<string, unknown>;
	/** wrangler.toml's [[ratelimits]], by binding name */
	ratelimits?: Record<string, { namespace_id: string; simple: { limit: number; period: number } }>;
}

export type RuntimeSecrets = {
	CRUN_API_KEY: string;
	/** comma-separated bearer tokens */
	API_TOKENS: string;
	/** one or several space-separated whsec_ secrets */
	WEBHOOK_SECRET: string;
};

export interface RuntimeOptions {
	/** overrides of wrangler.toml's [vars], e.g. CRUN_API_BASE and the poll settings */
	vars?: Record<string, string>;
	/** defaults to localSecrets(): key "sim-key", token "local-token", a fresh webhook secret */
	secrets?: Record<string, string>;
	/** the per-token request limit per minute (RATE_LIMITER's `simple.limit` × 10, and the var that names it); wrangler.toml's when omitted */
	rateLimitPerMinute?: number;
	/** Durable Object state lives here; a fresh temp folder (removed on dispose) when omitted */
	persistDir?: string;
	host?: string;
	/** 0 (default) picks a free port, kept across restarts */
	port?: number;
	/** bearer token of the fetch helper; defaults to the first of API_TOKENS */
	token?: string;
	/** called with every line the runtime prints (worker console output included) */
	onLog?: (line: string, stream: "stdout" | "stderr") => void;
	maxLogLines?: number;
}

export interface RuntimeFetchInit extends RequestInit {
	/** sent as the JSON body (method defaults to POST) */
	json?: unknown;
	/** overrides the bearer token; null sends none */
	token?: string | null;
}

export interface Runtime {
	/** http://127.0.0.1:<port>, stable across restarts */
	readonly url: string;
	readonly port: number;
	/** pid of the runtime process (leader of its process group), null while down */
	readonly pid: number | null;
	readonly persistDir: string;
	readonly token: string;
	readonly secrets: Record<string, string>;
	/** every binding the worker gets: vars and secrets */
	readonly bindings: Record<string, string>;
	/** the runtime process and its descendants (workerd) */
	pids(): number[];
	/** fetch against the service, with `Authorization: Bearer <token>` */
	fetch(path: string, init?: RuntimeFetchInit): Promise<Response>;
	/** fires the worker's scheduled handler (the cron sweep) */
	scheduled(cron?: string, timeMs?: number): Promise<Response>;
	logs(): string[];
	/** resolves with the first matching line, already printed or future */
	waitForLog(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
	clearLogs(): void;
	/** SIGKILLs the runtime's process group: no graceful shutdown, like a crash */
	crash(): Promise<void>;
	/** starts it again on the same persisted state and port */
	start(): Promise<void>;
	/** graceful stop (SIGTERM, SIGKILL after 5 s) */
	stop(): Promise<void>;
	/** crash() (or stop() when hard is false), then start() */
	restart(options?: { hard?: boolean }): Promise<void>;
	/** stops it and removes the state folder if the harness made it */
	dispose(): Promise<void>;
}

export declare const ROOT: string;
export declare const QUIET_ENV: Record<string, string>;
export declare const FAST_VARS: Record<string, string>;
export declare function randomWebhookSecret(): string;
export declare function localSecrets(options?: {
	crunApiKey?: string;
	tokens?: string[];
	webhookSecret?: string;
}): RuntimeSecrets;
export declare function buildWorker(): Promise<BuiltWorker>;
export declare function descendants(pid: number): number[];
export declare function startRuntime(options?: RuntimeOptions): Promise<Runtime>;
