// The `Prefer` request header (RFC 7240) as far as this service honours it: `wait=N`, the seconds
// a client will wait for a status lookup to reach a terminal answer. A preference that cannot be
// read is ignored, as the RFC asks, never refused; a wait over MAX_WAIT_S is shortened to it.

/** The longest wait a lookup holds (SPEC §3: N ≤ 60). */
export const MAX_WAIT_S = 60;

/** The `wait` preference in seconds (1..MAX_WAIT_S), or null when there is none to honour. */
export function waitPreference(header: string | undefined | null): number | null {
	if (!header) return null;
	for (const preference of header.split(",")) {
		// token [ "=" word ] *( ";" parameter ): the parameters do not matter for `wait`.
		const [head = ""] = preference.split(";");
		const eq = head.indexOf("=");
		const name = (eq < 0 ? head : head.slice(0, eq)).trim().toLowerCase();
		if (name !== "wait") continue;
		// Only the first `wait` counts (RFC 7240 §2).
		const value =
			eq < 0
				? ""
				: head
						.slice(eq + 1)
						.trim()
						.replace(/^"(.*)"$/, "$1");
		if (!/^\d{1,10}$/.test(value)) return null;
		const seconds = Number(value);
		return seconds === 0 ? null : Math.min(seconds, MAX_WAIT_S);
	}
	return null;
}
