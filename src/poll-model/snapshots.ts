// The asset objects' side of the poll model: the snapshots of every type, read from the PollModel
// object at most once a minute per isolate (so what finished assets teach is used by new plans
// within a minute, and no check makes a call for it), and the one sample a finished asset sends.
// A model that is missing, unreachable or unreadable is null here: the planner falls back to the
// backoff schedule, never fails. A lost sample costs the model one data point and nothing else.

import { clock } from "../core/clock";
import { errorText, logEvent } from "../core/log";
import type { TypeSnapshot } from "../polling/model";
import { type ModelSnapshots, pollModel } from "./poll-model";

/** How old the snapshots a plan is made from may be. */
export const SNAPSHOT_TTL_MS = 60_000;
/** After a failed read, the next one waits this long (the plans meanwhile use the backoff). */
const FAILED_READ_TTL_MS = 10_000;

let cache: { at: number; ttl: number; value: Promise<ModelSnapshots | null> } | null = null;

/** The model's snapshots, at most SNAPSHOT_TTL_MS old; null when the model could not be read. */
export function modelSnapshots(env: Env): Promise<ModelSnapshots | null> {
	const now = clock.now();
	if (cache && now - cache.at < cache.ttl && now >= cache.at) return cache.value;
	const entry = { at: now, ttl: SNAPSHOT_TTL_MS, value: Promise.resolve<ModelSnapshots | null>(null) };
	entry.value = pollModel(env)
		.snapshots()
		.catch((err: unknown) => {
			logEvent("warn", "poll model unreadable; plans use the backoff", { error: errorText(err) });
			entry.ttl = FAILED_READ_TTL_MS;
			return null;
		});
	cache = entry;
	return entry.value;
}

/** The snapshot of one type, or null (no model, or not this type). */
export async function typeSnapshot(env: Env, type: string): Promise<TypeSnapshot | null> {
	return (await modelSnapshots(env))?.types.find((t) => t.type === type) ?? null;
}

/** Forgets the cached snapshots (tests that change the model mid-run). */
export function forgetSnapshots(): void {
	cache = null;
}

/** Sends one finished asset's duration to its type's model; a failure is logged, never thrown. */
export async function teachModel(env: Env, sample: { type: string; ms: number }): Promise<void> {
	try {
		await pollModel(env).addSample(sample.type, sample.ms);
	} catch (err) {
		logEvent("warn", "poll model sample lost", { type: sample.type, error: errorText(err) });
	}
}
