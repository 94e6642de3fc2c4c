// The rows the asset object stores and the views the API shows of them. Pure functions only:
// what a watch looks like to its owner (never its callback header values), what an asset
// status looks like, and the exact callback body of an event, built once and stored.

import { isTerminal } from "../crun/classify";

export const EVENT_TYPES = ["asset.active", "asset.failed", "watch.expired"] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const WATCH_STATES = ["watching", "notifying", "delivered", "failed", "cancelled", "skipped"] as const;
export type WatchState = (typeof WATCH_STATES)[number];
export type ExpiryReason = "ttl" | "not_found" | "invalid_asset_id";

/** `isLive` as an SQL condition on the watches table. */
export const LIVE_SQL = "state IN ('watching', 'notifying')";

/** A live watch still owes or awaits a callback; the others are finished. */
export function isLive(state: WatchState): boolean {
	return state === "watching" || state === "notifying";
}

export type AssetRow = {
	asset_id: string;
	status: string;
	name: string | null;
	asset_type: string | null;
	create_time: string | null;
	update_time: string | null;
	upstream_data: string | null;
	upstream_message: string | null;
	checked_at: number | null;
	next_check_at: number | null;
	checks: number;
	last_error: string | null;
	last_error_at: number | null;
	poll_step: number;
	not_found_count: number;
	not_found_since: number | null;
	terminal_at: number | null;
	expired_reason: string | null;
	last_forced_check_at: number | null;
	created_at: number;
	updated_at: number;
};

export type WatchRow = {
	id: string;
	owner: string;
	callback_url: string;
	events: string;
	metadata: string;
	callback_headers: string;
	state: WatchState;
	created_at: number;
	updated_at: number;
	expires_at: number;
	finished_at: number | null;
};

export type DeliveryRow = {
	watch_id: string;
	webhook_id: string;
	event_type: EventType;
	body: string;
	attempts: number;
	round_attempts: number;
	generation: number;
	next_attempt_at: number | null;
	last_status: number | null;
	last_error: string | null;
	last_attempt_at: number | null;
	created_at: number;
	delivered_at: number | null;
};

export type AttemptRow = {
	attempt: number;
	at: number;
	status: number | null;
	error: string | null;
	duration_ms: number | null;
};

const iso = (ms: number | null | undefined) =>
	ms === null || ms === undefined ? null : new Date(ms).toISOString();

export interface AssetView {
	asset_id: string;
	status: "Processing" | "Active" | "Failed" | "Unknown";
	watched: boolean;
	name: string | null;
	asset_type: string | null;
	create_time: string | null;
	update_time: string | null;
	checked_at: string | null;
	next_check_at: string | null;
	checks: number;
	last_error: string | null;
}

export function publicStatus(status: string): AssetView["status"] {
	return status === "Processing" || status === "Active" || status === "Failed" ? status : "Unknown";
}

export function assetView(a: AssetRow, watched: boolean, polling: boolean): AssetView {
	return {
		asset_id: a.asset_id,
		status: publicStatus(a.status),
		watched,
		name: a.name,
		asset_type: a.asset_type,
		create_time: a.create_time,
		update_time: a.update_time,
		checked_at: iso(a.checked_at),
		next_check_at: polling ? iso(a.next_check_at) : null,
		checks: a.checks,
		last_error: a.last_error,
	};
}

export interface DeliveryView {
	event_type: EventType;
	webhook_id: string;
	attempts: number;
	max_attempts: number;
	next_attempt_at: string | null;
	last_status: number | null;
	last_error: string | null;
	last_attempt_at: string | null;
	delivered_at: string | null;
	recent_attempts: {
		attempt: number;
		at: string;
		status: number | null;
		error: string | null;
		duration_ms: number | null;
	}[];
}

export interface WatchView {
	id: string;
	asset_id: string;
	callback_url: string;
	events: EventType[];
	metadata: Record<string, unknown>;
	callback_header_names: string[];
	state: WatchState;
	asset_status: AssetView["status"];
	created_at: string;
	updated_at: string;
	expires_at: string;
	delivery: DeliveryView | null;
}

export function watchView(
	w: WatchRow,
	asset: AssetRow,
	d: DeliveryRow | null,
	attempts: AttemptRow[],
	maxAttempts: number,
): WatchView {
	return {
		id: w.id,
		asset_id: asset.asset_id,
		callback_url: w.callback_url,
		events: JSON.parse(w.events),
		metadata: JSON.parse(w.metadata),
		callback_header_names: Object.keys(JSON.parse(w.callback_headers)),
		state: w.state,
		asset_status: publicStatus(asset.status),
		created_at: iso(w.created_at) as string,
		updated_at: iso(w.updated_at) as string,
		expires_at: iso(w.expires_at) as string,
		delivery: d
			? {
					event_type: d.event_type,
					webhook_id: d.webhook_id,
					attempts: d.attempts,
					max_attempts: maxAttempts,
					next_attempt_at: w.state === "notifying" ? iso(d.next_attempt_at) : null,
					last_status: d.last_status,
					last_error: d.last_error,
					last_attempt_at: iso(d.last_attempt_at),
					delivered_at: iso(d.delivered_at),
					recent_attempts: attempts.map((a) => ({
						attempt: a.attempt,
						at: iso(a.at) as string,
						status: a.status,
						error: a.error,
						duration_ms: a.duration_ms,
					})),
				}
			: null,
	};
}

/** The event an asset's terminal status owes its watches. */
export function terminalEvent(status: string): EventType | null {
	if (!isTerminal(status)) return null;
	return status === "Active" ? "asset.active" : "asset.failed";
}

/**
 * The callback body, serialized once: retries and redeliveries send these exact bytes.
 * `at` is when the event happened, not when it is sent.
 */
export function eventBody(
	type: EventType,
	at: number,
	watch: Pick<WatchRow, "id" | "metadata">,
	asset: AssetRow,
	reason: ExpiryReason | null,
): string {
	return JSON.stringify({
		type,
		timestamp: new Date(at).toISOString(),
		data: {
			watch_id: watch.id,
			asset_id: asset.asset_id,
			status: publicStatus(asset.status),
			name: asset.name,
			asset_type: asset.asset_type,
			create_time: asset.create_time,
			update_time: asset.update_time,
			metadata: JSON.parse(watch.metadata),
			upstream: asset.upstream_data ? JSON.parse(asset.upstream_data) : null,
			upstream_message: asset.upstream_message,
			reason,
		},
	});
}
