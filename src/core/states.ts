// The domain's vocabulary, each list spelled once: the upstream's statuses and the one the API adds
// before the first check, the events a watch can ask for, a watch's states and why a watch expires.
// Schemas, SQL, views and the index all read these constants, so a new value is added in one place.

/** What the upstream says of an asset. Anything else is non-terminal (and logged). */
export const UPSTREAM_STATUSES = ["Processing", "Active", "Failed"] as const;
/** What the API shows: the upstream's status, or `Unknown` before the first successful check. */
export const ASSET_STATUSES = [...UPSTREAM_STATUSES, "Unknown"] as const;
export type AssetStatus = (typeof ASSET_STATUSES)[number];

export const EVENT_TYPES = ["asset.active", "asset.failed", "watch.expired"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const WATCH_STATES = ["watching", "notifying", "delivered", "failed", "cancelled", "skipped"] as const;
export type WatchState = (typeof WATCH_STATES)[number];

export const EXPIRY_REASONS = ["ttl", "not_found", "invalid_asset_id"] as const;
export type ExpiryReason = (typeof EXPIRY_REASONS)[number];

/** The upstream statuses that end polling. */
export function isTerminal(status: string | null | undefined): status is "Active" | "Failed" {
	return status === "Active" || status === "Failed";
}

/** The status as the API shows it: one the upstream documents, else `Unknown`. */
export function publicStatus(status: string): AssetStatus {
	return (UPSTREAM_STATUSES as readonly string[]).includes(status) ? (status as AssetStatus) : "Unknown";
}

/** The event an asset's terminal status owes its watches. */
export function terminalEvent(status: string): EventType | null {
	if (!isTerminal(status)) return null;
	return status === "Active" ? "asset.active" : "asset.failed";
}

const LIVE_STATES = ["watching", "notifying"] as const satisfies readonly WatchState[];

/** A live watch still owes or awaits a callback; the others are finished. */
export function isLive(state: WatchState): boolean {
	return (LIVE_STATES as readonly WatchState[]).includes(state);
}

/** `isLive` as an SQL condition on a table with a `state` column. */
export const LIVE_SQL = `state IN (${LIVE_STATES.map((s) => `'${s}'`).join(", ")})`;

/**
 * A receiver origin's circuit (docs/delivery.md): `healthy`, `failing` (some consecutive failed
 * attempts, fewer than RECEIVER_TRIP_FAILURES) or `paused` (its deliveries wait for a probe).
 */
export const ORIGIN_STATES = ["healthy", "failing", "paused"] as const;
export type OriginState = (typeof ORIGIN_STATES)[number];
