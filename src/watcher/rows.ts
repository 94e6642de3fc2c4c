// The rows the asset object stores (docs/storage.md describes every column), as SQLite returns
// them: the asset, and its watches (each with its delivery and latest attempts). Views of them for
// the API are in views.ts; the schema that creates them in migrations.ts.

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
	/** when the last check counted in `checks` was made, as of the row's last write */
	checked_at: number | null;
	/** the next check as of the row's last write (src/polling/progress.ts derives the current one) */
	next_check_at: number | null;
	/** checks made as of the row's last write */
	checks: number;
	last_error: string | null;
	last_error_at: number | null;
	not_found_count: number;
	not_found_since: number | null;
	terminal_at: number | null;
	expired_reason: string | null;
	last_forced_check_at: number | null;
	created_at: number;
	updated_at: number;
	/** 1 while the index may lack something of this asset (a push failed, or never made) */
	index_pending: number;
	/** the check plan (src/polling/plan.ts, serializePlan); null before the first check */
	plan: string | null;
};

/**
 * The asset as it stands from its first registration until its first check answers: nothing of it
 * is stored yet (that answer writes the row, one row rather than an INSERT then an UPDATE), so
 * this is what the columns' defaults say, due for its first check since `since`.
 */
export function unansweredAsset(assetId: string, since: number): AssetRow {
	return {
		asset_id: assetId,
		status: "Unknown",
		name: null,
		asset_type: null,
		create_time: null,
		update_time: null,
		upstream_data: null,
		upstream_message: null,
		checked_at: null,
		next_check_at: since,
		checks: 0,
		last_error: null,
		last_error_at: null,
		not_found_count: 0,
		not_found_since: null,
		terminal_at: null,
		expired_reason: null,
		last_forced_check_at: null,
		created_at: since,
		updated_at: since,
		index_pending: 0,
		plan: null,
	};
}

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
	/** the client of a `client:token` entry that registered it (its secrets sign); null for a bare token */
	client: string | null;
} & DeliveryColumns;

/** The watch's delivery, in its own row: set when its event is opened, null before. */
export type DeliveryColumns = {
	webhook_id: string | null;
	event_type: EventType | null;
	/** the exact callback body, built once */
	body: string | null;
	attempts: number;
	/** attempts since the last redelivery (the retry schedule counts these) */
	round_attempts: number;
	/** bumped by each redelivery: an answer to an earlier round does not move the new one */
	generation: number;
	next_attempt_at: number | null;
	last_status: number | null;
	last_error: string | null;
	last_attempt_at: number | null;
	delivered_at: number | null;
	/** JSON array of AttemptRow, newest first, at most RECENT_ATTEMPTS */
	recent_attempts: string | null;
	/** since when the delivery waits for its paused receiver origin (no attempts spent); null when it does not */
	held_since: number | null;
};

/** A watch with an event opened: its delivery columns are set. */
export type DeliveryRow = WatchRow & { webhook_id: string; event_type: EventType; body: string };

export function hasDelivery(w: WatchRow): w is DeliveryRow {
	return w.webhook_id !== null && w.event_type !== null && w.body !== null;
}

export type AttemptRow = {
	attempt: number;
	at: number;
	status: number | null;
	error: string | null;
	duration_ms: number | null;
};

/** A watch's latest attempts, newest first. */
export function recentAttempts(w: Pick<WatchRow, "recent_attempts">): AttemptRow[] {
	if (!w.recent_attempts) return [];
	try {
		const list: unknown = JSON.parse(w.recent_attempts);
		return Array.isArray(list) ? (list as AttemptRow[]) : [];
	} catch {
		return [];
	}
}

/** Whether a watch asked for events of this type (else it is `skipped` when the asset ends so). */
export function wantsEvent(w: Pick<WatchRow, "events">, type: EventType): boolean {
	return (JSON.parse(w.events) as EventType[]).includes(type);
}

/** What a registration asks for, as the asset object's `register` takes it. */
export interface RegisterInput {
	assetId: string;
	owner: string;
	callbackUrl: string;
	events: EventType[];
	metadata: Record<string, unknown>;
	callbackHeaders: Record<string, string>;
	/** the registering token's client (CLIENT_WEBHOOK_SECRETS sign its callbacks), or null */
	client: string | null;
}

export type NewWatch = RegisterInput & { id: string; expiresAt: number };

/** How a delivery attempt ended for its watch, as delivery-flow.ts plans it. */
export type AttemptOutcome =
	| { kind: "retry"; at: number }
	| {
			kind: "end";
			deliveredAt: number | null;
			state: Extract<WatchState, "delivered" | "cancelled" | "failed">;
	  }
	/** its receiver origin is paused: it waits (from `heldSince`) and looks again at `at` on its own */
	| { kind: "hold"; at: number; heldSince: number }
	/** the watch moved on meanwhile (cancelled, or redelivered): the attempt is recorded, nothing else */
	| { kind: "record" };
