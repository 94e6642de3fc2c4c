// Structured logging: one JSON object per line, so Workers Logs and `wrangler tail` can filter on
// fields. Callers pass what happened and its context; never a secret (see SECURITY.md).

type Level = "info" | "warn" | "error";

const sinks: Record<Level, (line: string) => void> = {
	info: (line) => console.log(line),
	warn: (line) => console.warn(line),
	error: (line) => console.error(line),
};

/** Logs `{ msg, ...fields }` as one JSON line at `level`. */
export function logEvent(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
	sinks[level](JSON.stringify({ msg, ...fields }));
}

/** An error's message for a log line or a stored error text (not its stack). */
export function errorText(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
