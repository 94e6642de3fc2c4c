// Types for sim/receiver.mjs, the Standard Webhooks callback receiver, so TypeScript tests can drive it.
// Kept free of Node typings: the project type-checks against the Workers types only.

export interface Delivery {
	/** epoch ms when the request arrived */
	at: number;
	method: string;
	path: string;
	query: string;
	/** lower-cased request headers */
	headers: Record<string, string | string[] | undefined>;
	/** raw body */
	body: string;
	/** parsed body, or null when it is not JSON */
	json: unknown;
	verified: boolean;
	error?: string;
	webhookId: string | null;
	/** 1 for the first request with this webhook-id, 2 for the next, … */
	attempt: number;
	/** status answered, null until answered (or for ever when hanging) */
	status: number | null;
}

export interface Step {
	status?: number;
	/** defaults to "/moved" for 3xx */
	location?: string;
	/** raw Retry-After header value */
	retryAfter?: string;
	headers?: Record<string, string>;
	body?: string;
	delayMs?: number;
	/** never answer; the client has to give up */
	hang?: boolean;
}

export type Behaviour =
	| number
	| Step
	| Array<number | Step>
	| { sequence: Array<number | Step>; after?: number | Step };

export interface ReceiverOptions {
	port?: number;
	host?: string;
	/** one or several space-separated whsec_ secrets */
	secret?: string;
	onDelivery?: (delivery: Delivery) => void;
}

export interface Receiver {
	url: string;
	port: number;
	deliveries(): Delivery[];
	/** resolves with the first delivery (already recorded or future) matching the predicate, checked on arrival and again once answered */
	waitFor(predicate?: (delivery: Delivery) => boolean, timeoutMs?: number): Promise<Delivery>;
	/** path is the request path, or "*" for every path without its own behaviour; null clears */
	setBehaviour(path: string, behaviour: Behaviour | null): void;
	down(forMs?: number): Promise<void>;
	up(): Promise<void>;
	reset(): void;
	close(): Promise<void>;
}

export declare function startReceiver(options?: ReceiverOptions): Promise<Receiver>;
