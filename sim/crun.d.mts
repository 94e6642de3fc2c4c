// Types for sim/crun.mjs, the Crun upstream simulator, so TypeScript tests can drive it.
// Kept free of Node typings: the project type-checks against the Workers types only.

export type AssetStatus = "Processing" | "Active" | "Failed";
export type AssetType = "Image" | "Video" | "Audio";

/** An error envelope `{ code, message, data: null }`; HTTP status = `httpStatus ?? status`, body code = `bodyCode ?? status`. */
export interface ErrorFault {
	kind?: "error";
	/** 401 | 402 | 404 | 422 | 429 | 455 | 500 | 501 | 505, or any HTTP status */
	status?: number;
	httpStatus?: number;
	bodyCode?: number;
	message?: string;
	/** raw Retry-After header value */
	retryAfter?: string;
}

export type Fault =
	| ErrorFault
	| { kind: "html"; httpStatus?: number }
	| { kind: "truncated"; httpStatus?: number }
	| { kind: "wrong_shape"; httpStatus?: number }
	| { kind: "unknown_status"; status?: string }
	| { kind: "slow"; ms: number }
	| { kind: "hang" }
	| { kind: "reset" };

export interface AssetScript {
	/** how long the asset stays Processing, counted from its first asset-info query */
	processingMs?: number;
	outcome?: "Active" | "Failed";
	errorMessage?: string;
	name?: string;
	assetType?: AssetType;
	timeFormat?: "iso" | "unix";
	/** answered in order on the next asset-info queries; replaces any pending faults */
	faults?: Fault[];
}

export interface AssetView {
	id: string;
	status: string;
	name: string;
	assetType: AssetType;
	timeFormat: "iso" | "unix";
	processingMs: number;
	outcome: "Active" | "Failed";
	errorMessage: string;
	pendingFaults: number;
	createdAt: number;
	firstQueryAt: number | null;
	flippedAt: number | null;
	calls: number;
}

export interface CrunSimStats {
	calls: { total: number; byAsset: Record<string, number> };
	uploads: number;
	/** asset id → epoch ms of its latest flip */
	flips: Record<string, number>;
	/** account calls (asset-info and upload) answered 429 by the rate limit */
	limited: number;
	/** the most account calls seen in any 1 s window, refused ones included */
	peakPerSecond: number;
}

/** Processing time of a new asset of one type, in the shape src/polling/distributions.ts uses. */
export type DistributionSpec =
	| { kind: "fixed"; ms: number }
	| { kind: "lognormal"; medianMs: number; sigma: number }
	| { kind: "pareto"; minMs: number; alpha: number; capMs?: number }
	| { kind: "mixture"; parts: { weight: number; of: DistributionSpec }[] }
	/** `before` for the first `afterAssets` assets of the type, `after` from then on */
	| { kind: "shift"; before: DistributionSpec; after: DistributionSpec; afterAssets: number };

/** Per type; a type without one uses defaultProcessingMs. `null` (in setDistributions) removes one. */
export type Distributions = Partial<Record<AssetType, DistributionSpec | null>>;

export interface RateLimit {
	/** answered account calls allowed in any 1 s window; 0 = no limit */
	perSecond: number;
	/** send Retry-After (whole seconds until the window has room) with the 429; default true */
	retryAfter?: boolean;
}

export interface CrunSimConfig {
	defaultProcessingMs: number;
	seed: number;
	distributions: Partial<Record<AssetType, DistributionSpec>>;
	rateLimit: Required<RateLimit>;
}

export interface CrunSimOptions {
	port?: number;
	host?: string;
	apiKey?: string;
	defaultProcessingMs?: number;
	/** per-type processing-time distributions, or "realistic" (REALISTIC) */
	distributions?: Distributions | "realistic";
	/** N calls per second, or { perSecond, retryAfter }; null or 0 = no limit */
	rateLimit?: number | RateLimit | null;
	/** seeds every draw: an asset's processing time depends on the seed and its id alone */
	seed?: number;
	/** the clock (epoch ms) for processing and the limiter's window; Date.now by default */
	now?: () => number;
}

export interface CrunSim {
	url: string;
	port: number;
	script(id: string, script: AssetScript): AssetView;
	flip(id: string, status: AssetStatus): AssetView;
	asset(id: string): AssetView | undefined;
	stats(): CrunSimStats;
	config(): CrunSimConfig;
	/** merges into the current distributions ("realistic" replaces them); invalid input throws */
	setDistributions(map: Distributions | "realistic"): CrunSimConfig;
	/** replaces the rate limit at once (a test can tighten it mid-run) */
	setRateLimit(limit: number | RateLimit | null): CrunSimConfig;
	/** forgets every asset, counter and flip; back to the distributions and limit of the start */
	reset(): void;
	close(): Promise<void>;
}

export declare const REALISTIC: Required<Record<AssetType, DistributionSpec>>;
export declare function simOptionsFromEnv(
	env?: Record<string, string | undefined>,
): Pick<CrunSimOptions, "distributions" | "rateLimit" | "seed">;
export declare function startCrunSim(options?: CrunSimOptions): Promise<CrunSim>;
