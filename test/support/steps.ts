// Stepping an asset's Durable Object through its alarms on the virtual clock.

import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { type OriginRef, originObjectName } from "../../src/receivers/origin";
import type { VirtualClock } from "./fakes";

export const stubOf = (assetId: string) => env.ASSET_WATCHER.getByName(assetId);

export async function alarmAt(assetId: string): Promise<number | null> {
	return runInDurableObject(stubOf(assetId), (_instance, state) => state.storage.getAlarm());
}

/** Moves the clock to the asset's next alarm (never backwards) and runs it; false when none is set. */
export async function step(vclock: VirtualClock, assetId: string): Promise<boolean> {
	const at = await alarmAt(assetId);
	if (at === null) return false;
	if (at > vclock.t) vclock.t = at;
	return runDurableObjectAlarm(stubOf(assetId));
}

/**
 * Runs an asset's alarm if it is due by now, as it is right after a registration (which answers
 * after one object call and leaves the first check and the push to the index to that alarm).
 */
export async function runDue(vclock: VirtualClock, assetId: string): Promise<boolean> {
	const at = await alarmAt(assetId);
	if (at === null || at > vclock.t) return false;
	return runDurableObjectAlarm(stubOf(assetId));
}

/** Steps until `done()` holds, failing after `max` alarms. */
export async function stepUntil(
	vclock: VirtualClock,
	assetId: string,
	done: () => boolean | Promise<boolean>,
	max = 50,
): Promise<number> {
	for (let i = 0; i < max; i++) {
		if (await done()) return i;
		if (!(await step(vclock, assetId))) {
			if (await done()) return i;
			throw new Error(`no alarm left for ${assetId} after ${i} steps`);
		}
	}
	if (await done()) return max;
	throw new Error(`condition not reached for ${assetId} within ${max} alarms`);
}

/** A receiver origin's object (its circuit and waiting deliveries). */
export const originStubOf = async (ref: OriginRef) =>
	env.RECEIVER_ORIGIN.getByName(await originObjectName(ref));

export async function originAlarmAt(ref: OriginRef): Promise<number | null> {
	return runInDurableObject(await originStubOf(ref), (_instance, state) => state.storage.getAlarm());
}

/** Moves the clock to the origin's next alarm (never backwards) and runs it: a probe or a drain. */
export async function stepOrigin(vclock: VirtualClock, ref: OriginRef): Promise<boolean> {
	const at = await originAlarmAt(ref);
	if (at === null) return false;
	if (at > vclock.t) vclock.t = at;
	return runDurableObjectAlarm(await originStubOf(ref));
}

/**
 * Whether the asset has nothing left to do. A run that finished all its work leaves the lease it
 * set to fire once more (a no-op wake-up is cheaper than deleting the alarm); that wake-up is run
 * here, and afterwards no alarm may remain. Callers check it did nothing (no call, no delivery).
 */
export async function settled(vclock: VirtualClock, assetId: string): Promise<boolean> {
	await step(vclock, assetId);
	return (await alarmAt(assetId)) === null;
}

/**
 * Runs an object's pending alarm (the clock set to it) and kills the runtime once `reached` holds,
 * mid-run: every object's memory is gone, its storage is what that run had written.
 */
export async function dieDuringAlarm(
	vclock: VirtualClock,
	stub: DurableObjectStub,
	reached: () => boolean,
): Promise<void> {
	vclock.t = (await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())) as number;
	const run = runDurableObjectAlarm(stub).catch(() => "aborted");
	while (!reached()) await new Promise((r) => setTimeout(r, 5));
	await abortAllDurableObjects();
	await run;
}
