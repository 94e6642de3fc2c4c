// The lookups of one asset that wait (`Prefer: wait=N`) for its status to settle. Each waiter is a
// promise the object resolves when a check ends polling (Active, Failed, or the watches expired or
// went away) or when its own N seconds run out, so any number of waiters share the asset's one
// poll loop and add no check. A waiter holds its object in memory (billed duration) while it waits;
// MAX_WAITERS bounds how many one object holds, and a lookup beyond it answers at once.

/** At most this many lookups wait on one asset at a time. */
export const MAX_WAITERS = 1000;

type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

export class StatusWaiters {
	private readonly waiting = new Set<() => void>();

	get size(): number {
		return this.waiting.size;
	}

	/**
	 * Waits until `wake()` or until `ms` pass, whichever is first; null (no wait) when the object
	 * already holds MAX_WAITERS. Either way the waiter and its timer are gone when it settles.
	 */
	wait(ms: number, sleep: Sleep): Promise<void> | null {
		if (this.waiting.size >= MAX_WAITERS) return null;
		const timer = new AbortController();
		let done = () => {};
		const woken = new Promise<void>((resolve) => {
			done = resolve;
		});
		this.waiting.add(done);
		return Promise.race([woken, sleep(ms, timer.signal)]).finally(() => {
			this.waiting.delete(done);
			timer.abort();
		});
	}

	/** Ends every wait now: the status will not change by waiting any longer. */
	wake(): void {
		for (const done of this.waiting) done();
		this.waiting.clear();
	}
}
