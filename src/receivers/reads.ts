// Reading an owner's receiver origins for `GET /v1/receivers` and the dashboard: the owner's
// directory names them, a page at a time, and each origin object answers its own state. Only the
// caller's owner hash is ever used to name either, so no token can read another's origins.

import { inBatches } from "../core/batches";
import { HttpError } from "../core/errors";
import { errorText, logEvent } from "../core/log";
import { receiverDirectory } from "./receiver-directory";
import { type OriginRecord, receiverOrigin } from "./receiver-origin";

/** Origin objects read at once for one page. */
const READ_CONCURRENCY = 10;

export class ReceiversUnavailableError extends HttpError {
	constructor() {
		super(503, "receivers_unavailable", "the receiver state did not answer; try again shortly");
	}
}

/** One page of the owner's origins after `after` (in origin order), and the origin to go on from. */
export async function listReceivers(
	env: Env,
	owner: string,
	after: string | null,
	limit: number,
): Promise<{ records: OriginRecord[]; next: string | null }> {
	try {
		const origins = await receiverDirectory(env, owner).list(after, limit + 1);
		const page = origins.slice(0, limit);
		const records: (OriginRecord | null)[] = new Array(page.length).fill(null);
		await inBatches(page, READ_CONCURRENCY, async (origin, i) => {
			records[i] = await (await receiverOrigin(env, { owner, origin })).record();
		});
		return {
			records: records.filter((r): r is OriginRecord => r !== null),
			next: origins.length > limit ? (page[page.length - 1] ?? null) : null,
		};
	} catch (err) {
		logEvent("warn", "receiver read failed", { error: errorText(err) });
		throw new ReceiversUnavailableError();
	}
}
