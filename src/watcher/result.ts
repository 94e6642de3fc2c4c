// What the asset object's RPC methods return. Errors cross the RPC boundary as plain data
// (class identity does not survive it) and the route turns them back into an HttpError.

import { HttpError, retryAfterHeader } from "../core/errors";

export type Failure = {
	ok: false;
	status: 400 | 404 | 409 | 429 | 502 | 503;
	code: string;
	message: string;
	retryAfterS?: number;
};
export type Result<T> = { ok: true; value: T } | Failure;

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = (
	status: Failure["status"],
	code: string,
	message: string,
	retryAfterS?: number,
): Failure => ({
	ok: false,
	status,
	code,
	message,
	...(retryAfterS !== undefined ? { retryAfterS } : {}),
});

/** Unwraps an RPC result in a route: the value, or the error thrown as the matching HttpError. */
export function unwrap<T>(answer: Result<T> | Promise<Result<T>>): Promise<T>;
export async function unwrap<T>(answer: Result<T> | Promise<Result<T>>): Promise<T> {
	const r = await answer;
	if (r.ok) return r.value;
	const headers = r.retryAfterS !== undefined ? retryAfterHeader(r.retryAfterS) : undefined;
	throw new HttpError(r.status, r.code, r.message, undefined, headers);
}
