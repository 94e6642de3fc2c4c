// What the API shows of the asset object's rows, as pure functions: a watch as its owner sees it
// (never its callback header values), an asset's status, and the exact callback body of an event,
// built once and stored. The view types are the zod schemas' outputs (src/api/resources.ts), so a
// field added to a schema and not here, or here and not there, fails the type check.

import type { z } from "@hono/zod-openapi";
import type { AssetStatusSchema, CallbackEvent, DeliverySchema, WatchSchema } from "../api/resources";
import { type EventType, type ExpiryReason, publicStatus } from "../core/states";
import type { Progress } from "../polling/progress";
import { type AssetRow, type DeliveryRow, hasDelivery, recentAttempts, type WatchRow } from "./rows";

export type AssetView = z.output<typeof AssetStatusSchema>;
export type DeliveryView = z.output<typeof DeliverySchema>;
export type WatchView = z.output<typeof WatchSchema>;

const iso = (ms: number | null | undefined) =>
	ms === null || ms === undefined ? null : new Date(ms).toISOString();
const isoAt = (ms: number) => new Date(ms).toISOString();

/**
 * The status lookup's view. `progress` is where the checks stand (src/polling/progress.ts): the
 * row counts them only as of its last write.
 */
export function assetView(
	a: AssetRow,
	watched: boolean,
	polling: boolean,
	progress: Progress = { checks: a.checks, checkedAt: a.checked_at, nextCheckAt: a.next_check_at },
): AssetView {
	return {
		asset_id: a.asset_id,
		status: publicStatus(a.status),
		watched,
		name: a.name,
		asset_type: a.asset_type,
		create_time: a.create_time,
		update_time: a.update_time,
		checked_at: iso(progress.checkedAt),
		next_check_at: polling ? iso(progress.nextCheckAt) : null,
		checks: progress.checks,
		last_error: a.last_error,
	};
}

function deliveryView(d: DeliveryRow, maxAttempts: number): DeliveryView {
	return {
		event_type: d.event_type,
		webhook_id: d.webhook_id,
		attempts: d.attempts,
		max_attempts: maxAttempts,
		next_attempt_at: d.state === "notifying" ? iso(d.next_attempt_at) : null,
		last_status: d.last_status,
		last_error: d.last_error,
		last_attempt_at: iso(d.last_attempt_at),
		delivered_at: iso(d.delivered_at),
		waiting_for_receiver_since: d.state === "notifying" ? iso(d.held_since) : null,
		recent_attempts: recentAttempts(d).map((a) => ({
			attempt: a.attempt,
			at: isoAt(a.at),
			status: a.status,
			error: a.error,
			duration_ms: a.duration_ms,
		})),
	};
}

export function watchView(w: WatchRow, asset: AssetRow, maxAttempts: number): WatchView {
	return {
		id: w.id,
		asset_id: asset.asset_id,
		callback_url: w.callback_url,
		events: JSON.parse(w.events),
		metadata: JSON.parse(w.metadata),
		callback_header_names: Object.keys(JSON.parse(w.callback_headers)),
		state: w.state,
		asset_status: publicStatus(asset.status),
		created_at: isoAt(w.created_at),
		updated_at: isoAt(w.updated_at),
		expires_at: isoAt(w.expires_at),
		delivery: hasDelivery(w) ? deliveryView(w, maxAttempts) : null,
	};
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
	const event: CallbackEvent = {
		type,
		timestamp: isoAt(at),
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
	};
	return JSON.stringify(event);
}
