// When a watch's event may be sent again (`POST /v1/watches/:id/redeliver` and the bulk
// `POST /v1/watches/redeliver`), as a pure function over its row. A bulk redelivery passes what it
// matched in the index; the asset's own row decides, so a watch that moved on since (already
// notifying again, redelivered by an earlier call) is left alone and a repeated call changes nothing.

import { type Failure, fail } from "./result";
import { hasDelivery, type WatchRow } from "./rows";

/** What a bulk redelivery matched: the watch must still be in this state, last changed in [from, to). */
export interface RedeliveryMatch {
	state: "failed" | "delivered";
	from: number | null;
	to: number | null;
}

/** Why `w` is not redelivered now, or null when it may be (null `w`: the caller answers 404). */
export function redeliveryRefusal(w: WatchRow | null, only?: RedeliveryMatch): Failure | null {
	if (!w) return null;
	// A cancelled or skipped watch has nothing to send and never will: each says so by name.
	if (w.state === "cancelled") return fail(409, "watch_cancelled", "the watch is cancelled");
	if (w.state === "skipped")
		return fail(409, "watch_skipped", "the watch was skipped: it did not ask for its asset's event");
	if (!hasDelivery(w)) return fail(409, "no_event_yet", "the watch has no event to deliver yet");
	if (!only) return null;
	const inWindow =
		(only.from === null || w.updated_at >= only.from) && (only.to === null || w.updated_at < only.to);
	if (w.state !== only.state || !inWindow)
		return fail(409, "no_longer_matching", `the watch is ${w.state} now`);
	return null;
}
