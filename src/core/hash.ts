// A small stable hash for placement and seeds: the same text gives the same number in every
// isolate, deploy and runtime (unlike Math.random or a per-process hash).

/** FNV-1a (32 bit) over the UTF-8 bytes: stable across isolates, deploys and runtimes. */
export function fnv1a(text: string): number {
	let h = 0x811c9dc5;
	for (const b of new TextEncoder().encode(text)) {
		h ^= b;
		h = Math.imul(h, 0x01000193) >>> 0;
	}
	return h >>> 0;
}
