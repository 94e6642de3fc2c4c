// Terminal events sent before they are stored. When a check finds its asset terminal, the answer is
// written (the asset row) and each watching watch's event is opened here, in memory, rather than in
// its row: the first attempt's record then writes the event with the attempt, one row where there
// were two. Nothing is lost by it, because the event follows from what is stored: its webhook-id
// from the watch's id (src/core/ids.ts `webhookIdFor`), its body from the terminal row. A run that
// ends before the record leaves a `watching` watch on a terminal asset, which the next run opens
// in its row (`AssetStore.openOwedEvents`) with the same webhook-id and body: a receiver that got
// the first attempt dedupes the second, as it would a retry.

import type { WatchRow } from "./rows";

export class UnsavedEvents {
	/** watch id → the columns its opened event would have written */
	private readonly events = new Map<string, Partial<WatchRow>>();

	put(watchId: string, columns: Partial<WatchRow>): void {
		this.events.set(watchId, columns);
	}

	has(watchId: string): boolean {
		return this.events.has(watchId);
	}

	ids(): string[] {
		return [...this.events.keys()];
	}

	/** The watch as its unsaved event makes it (notifying, the event set); other watches as they are. */
	overlay(w: WatchRow | null): WatchRow | null {
		const e = w && w.state === "watching" ? this.events.get(w.id) : undefined;
		return w && e ? { ...w, ...e } : w;
	}

	/** The event's columns, once: the first write of the watch carries them (none when not unsaved). */
	take(watchId: string): Partial<WatchRow> {
		const e = this.events.get(watchId);
		this.events.delete(watchId);
		return e ?? {};
	}
}
