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
}

export interface CrunSimOptions {
	port?: number;
	host?: string;
	apiKey?: string;
	defaultProcessingMs?: number;
}

export interface CrunSim {
	url: string;
	port: number;
	script(id: string, script: AssetScript): AssetView;
	flip(id: string, status: AssetStatus): AssetView;
	asset(id: string): AssetView | undefined;
	stats(): CrunSimStats;
	reset(): void;
	close(): Promise<void>;
}

export declare function startCrunSim(options?: CrunSimOptions): Promise<CrunSim>;
