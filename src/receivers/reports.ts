// The asset objects' side of the circuit: the three calls they make to an origin object (report
// an attempt, ask before sending to an origin known paused, forget deliveries that gave up), each
// remembered in this isolate's known-origins. An origin object that does not answer never stops a
// delivery: the asset then acts as if there were no circuit (it sends, and retries on schedule).

import { errorText, logEvent } from "../core/log";
import type { AttemptVerdict } from "./circuit";
import { learn, type OriginAnswer } from "./known-origins";
import type { OriginRef } from "./origin";
import { receiverOrigin, type Waiter } from "./receiver-origin";

export interface OriginLink {
	/** An attempt's outcome; `waiter` is the delivery that retries if the origin is (now) paused. */
	report(
		ref: OriginRef,
		verdict: AttemptVerdict,
		waiter: Waiter | null,
		now: number,
	): Promise<OriginAnswer | null>;
	/** Deliveries due to an origin this isolate knows paused: the answer says whether to hold them. */
	hold(ref: OriginRef, waiters: Waiter[], now: number): Promise<OriginAnswer | null>;
	/** Deliveries that stopped waiting. */
	forget(ref: OriginRef, waiters: Waiter[]): Promise<void>;
}

async function answered(
	what: string,
	ref: OriginRef,
	now: number,
	call: () => Promise<OriginAnswer>,
): Promise<OriginAnswer | null> {
	try {
		const answer = await call();
		learn(ref, answer, now);
		return answer;
	} catch (err) {
		logEvent("warn", "receiver origin unreachable", { call: what, error: errorText(err) });
		return null;
	}
}

export function originLink(env: Env): OriginLink {
	return {
		report: (ref, verdict, waiter, now) =>
			answered("report", ref, now, async () => (await receiverOrigin(env, ref)).report(ref, verdict, waiter)),
		hold: (ref, waiters, now) =>
			answered("hold", ref, now, async () => (await receiverOrigin(env, ref)).hold(ref, waiters)),
		async forget(ref, waiters) {
			try {
				await (await receiverOrigin(env, ref)).forget(waiters);
			} catch (err) {
				// The origin drops it at its next probe or drain anyway (the asset answers "not waiting").
				logEvent("warn", "receiver origin unreachable", { call: "forget", error: errorText(err) });
			}
		},
	};
}
