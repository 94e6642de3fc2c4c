// The rows the asset object stores (docs/storage.md describes every column), as SQLite returns
// them. Views of them for the API are in views.ts; the schema that creates them in migrations.ts.

import type { EventType, WatchState } from "../core/states";

export type AssetRow = {
	asset_id: string;
	/** the upstream's Status string as last seen (`Unknown` before the first successful check) */
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
	/** JSON array of EventType */
	events: string;
	/** JSON object */
	metadata: string;
	/** JSON object of header name → value (values are secrets) */
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

/** Whether a watch asked for events of this type (else it is `skipped` when the asset ends so). */
export function wantsEvent(w: Pick<WatchRow, "events">, type: EventType): boolean {
	return (JSON.parse(w.events) as EventType[]).includes(type);
}
