// Which secrets sign a watch's callbacks (SPEC §4): its client's own from CLIENT_WEBHOOK_SECRETS
// (every one of them, so a receiver on either side of a rotation verifies), else WEBHOOK_SECRET.
// A watch whose secrets cannot be had is never signed with others instead: its callbacks wait.
// The client is the one recorded on the watch row at registration.

import type { Config } from "../core/config";

export type Signing =
	| { secrets: readonly string[] }
	/** why nothing can sign, and the variable to fix */
	| { unsigned: string; variable: "WEBHOOK_SECRET" | "CLIENT_WEBHOOK_SECRETS" };

/** The secrets that sign callbacks of a watch registered by `client` (null: a bare token). */
export function signingFor(c: Config, client: string | null): Signing {
	if (client !== null) {
		const own = c.CLIENT_WEBHOOK_SECRETS;
		// Unreadable as a whole: whether this client has its own secrets cannot be told.
		if (own.unreadable)
			return {
				unsigned: "CLIENT_WEBHOOK_SECRETS is not a valid JSON object",
				variable: "CLIENT_WEBHOOK_SECRETS",
			};
		const entry = own.clients.get(client);
		if (entry && "problem" in entry)
			return {
				unsigned: "CLIENT_WEBHOOK_SECRETS: this client's entry is invalid (see /healthz)",
				variable: "CLIENT_WEBHOOK_SECRETS",
			};
		if (entry) return { secrets: entry.secrets };
	}
	if (c.WEBHOOK_SECRETS.length === 0 || c.invalid.some((i) => i.name === "WEBHOOK_SECRET"))
		return { unsigned: "WEBHOOK_SECRET is not configured", variable: "WEBHOOK_SECRET" };
	return { secrets: c.WEBHOOK_SECRETS };
}
