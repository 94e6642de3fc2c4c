// What this isolate has learned of receiver origins from the ReceiverOrigin objects' answers, so
// that the asset objects need no call per attempt: a failed attempt is always reported (the answer
// says whether the origin is now paused); a success only when the origin may have failures to
// clear, or when this isolate has not heard of the origin for a while (which keeps the listing's
// `last_success_at` and the consecutive count honest across isolates). A delivery due to an origin
// known paused asks the origin before sending. Losing this memory costs calls, never a delivery.

import type { OriginState } from "../core/states";
import { type OriginRef, refKey } from "./origin";

/** A healthy origin's success is reported again after this long (per isolate). */
export const SUCCESS_REPORT_MS = 10 * 60_000;
/** Origins remembered per isolate; the least recently learned are forgotten first. */
const MAX_KNOWN = 2000;

export interface OriginAnswer {
	state: OriginState;
	failures: number;
	/** while paused: when its next probe is due */
	probe_at: number | null;
}

const known = new Map<string, OriginAnswer & { at: number }>();

/** Remembers what an origin object answered at `at`. */
export function learn(ref: OriginRef, answer: OriginAnswer, at: number): void {
	const key = refKey(ref);
	known.delete(key);
	known.set(key, { ...answer, at });
	if (known.size > MAX_KNOWN) known.delete(known.keys().next().value as string);
}

/** The origin was paused when this isolate last heard: a delivery to it asks before it sends. */
export function knownPaused(ref: OriginRef): boolean {
	return known.get(refKey(ref))?.state === "paused";
}

/**
 * Whether a successful attempt is worth a call: the origin may have failures to clear (this
 * isolate heard of some), or nothing fresh is known of it here.
 */
export function successWorthReporting(ref: OriginRef, now: number): boolean {
	const k = known.get(refKey(ref));
	return k?.state !== "healthy" || k.failures > 0 || now - k.at >= SUCCESS_REPORT_MS;
}

/** Forgets everything (what a new isolate starts with; tests use it to stand for a restart). */
export function forgetOrigins(): void {
	known.clear();
}
