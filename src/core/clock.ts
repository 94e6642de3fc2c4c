// The service's one source of "now", of randomness for jitter, and of the timers that end waits.
// Production reads the real clock; tests replace all three (the Durable Objects run in the same
// isolate as the tests) to step through hours of schedule without waiting for them.

/** Resolves after `ms`, or at once when `signal` aborts (its timer is then cleared). */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal?.aborted) return resolve();
		const timer = setTimeout(resolve, ms);
		signal?.addEventListener(
			"abort",
			() => {
				clearTimeout(timer);
				resolve();
			},
			{ once: true },
		);
	});
}

export const clock = {
	now: (): number => Date.now(),
	random: (): number => Math.random(),
	sleep: sleepFor,
};
