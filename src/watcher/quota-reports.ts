// Reports to the token quota objects: which of their watches went live (a redelivery) or finished.
// Reports are by watch id, so repeating one is harmless; one that cannot be sent is kept for the
// next run, and one lost to a crash is healed by the quota's audit (src/limits/token-quota.ts).

import { errorText, logEvent } from "../core/log";
import { tokenQuota } from "../limits/token-quota";
import type { LivenessChange } from "./store";

export class QuotaReports {
	private changes = new Map<string, LivenessChange>();

	note(change: LivenessChange): void {
		this.changes.set(change.id, change);
	}

	async flush(env: Env): Promise<void> {
		if (this.changes.size === 0) return;
		const byOwner = new Map<string, LivenessChange[]>();
		for (const c of this.changes.values()) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c]);
		await Promise.all(
			[...byOwner].map(async ([owner, changes]) => {
				try {
					await tokenQuota(env, owner).update({
						live: changes.filter((c) => c.live).map((c) => c.id),
						finished: changes.filter((c) => !c.live).map((c) => c.id),
					});
					// A change recorded while the report was in flight stays queued.
					for (const c of changes) if (this.changes.get(c.id) === c) this.changes.delete(c.id);
				} catch (err) {
					logEvent("warn", "token quota not updated", { error: errorText(err) });
				}
			}),
		);
	}
}
