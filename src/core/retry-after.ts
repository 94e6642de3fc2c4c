// `Retry-After` as sent by the upstream (429/455) and by callback receivers: either
// delta-seconds or an HTTP-date. Returns milliseconds from `now`, or null when absent or
// unreadable (a garbled header must not stall anything). Honoured for at most an hour.

/** The longest wait a `Retry-After` from the upstream or a receiver can impose. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
	if (!value) return null;
	const v = value.trim();
	if (/^\d+$/.test(v)) return Number(v) * 1000;
	const at = Date.parse(v);
	if (Number.isNaN(at)) return null;
	return Math.max(0, at - now);
}
