// Bounded concurrency: work on many items with at most `concurrency` in flight, so a fan-out to
// many Durable Objects stays quick without opening hundreds of subrequests at once.

/** Runs `run` on every item, at most `concurrency` at a time; resolves when all have settled. */
export async function inBatches<T>(
	items: readonly T[],
	concurrency: number,
	run: (item: T, index: number) => Promise<void>,
): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) {
			const index = next++;
			await run(items[index] as T, index);
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
