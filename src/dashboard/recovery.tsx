// The dashboard's part of recovery: the receivers panel of the overview (fed by what
// `GET /v1/receivers` answers) and the "redeliver all failed since …" form of the watches page
// (which calls what `POST /v1/watches/redeliver` calls), with the notice that reports its result
// and lets the operator go on with the next hundred.

import type { FC } from "hono/jsx";
import { BULK_REDELIVER_MAX } from "../api/recovery";
import { ValidationError } from "../core/errors";
import type { receiverPage } from "../routes/receivers";
import { BASE } from "./guards";
import { Badge, PostForm, Time } from "./layout";
import type { Session } from "./session";

type Receivers = Awaited<ReturnType<typeof receiverPage>>;

/** Origins the overview shows; `GET /v1/receivers` pages through them all. */
export const PANEL_RECEIVERS = 10;
export const BULK_PATH = `${BASE}/watches/redeliver`;

export const ReceiversView: FC<{ data: Receivers; now: number }> = ({ data, now }) =>
	data.receivers.length === 0 ? (
		<p class="muted">No deliveries yet: origins appear once a callback was sent to them.</p>
	) : (
		<div class="scroll">
			<table>
				<thead>
					<tr>
						<th>origin</th>
						<th>state</th>
						<th class="num">failures</th>
						<th class="num">waiting</th>
						<th class="hide-narrow">last success</th>
					</tr>
				</thead>
				<tbody>
					{data.receivers.map((r) => (
						<tr>
							<td class="mono">
								{r.origin}
								{r.last_error ? <div class="muted">{r.last_error}</div> : null}
								{r.next_probe_at ? (
									<div class="muted">
										next probe <Time iso={r.next_probe_at} now={now} />
									</div>
								) : null}
							</td>
							<td>
								<Badge value={r.state} />
							</td>
							<td class="num">{r.consecutive_failures}</td>
							<td class="num">{r.pending_deliveries}</td>
							<td class="hide-narrow">
								<Time iso={r.last_success_at} now={now} />
							</td>
						</tr>
					))}
				</tbody>
			</table>
			{data.next_cursor ? (
				<p class="muted">{`The first ${PANEL_RECEIVERS}; GET /v1/receivers lists them all.`}</p>
			) : null}
		</div>
	);

/** What one bulk call did, carried to the page it redirects to (no secret in it). */
export interface BulkOutcome {
	matched: number;
	redelivered: number;
	/** when set, more may match: the form goes on from here */
	more: string | null;
	/** the `since` the operator gave (ISO), to go on with the same */
	since: string | null;
}

/** The `since` of the form: a `datetime-local` value, read as UTC (the page shows every time in UTC). */
export function sinceOf(value: unknown): string | undefined {
	if (value === undefined || value === "") return undefined;
	if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value))
		throw new ValidationError("since must be a date and time");
	const ms = Date.parse(`${value}Z`);
	if (Number.isNaN(ms)) throw new ValidationError("since must be a date and time");
	return new Date(ms).toISOString();
}

/** The bulk outcome as query parameters of the watches page, and back. */
export function outcomeQuery(o: BulkOutcome): Record<string, string> {
	return {
		done: "bulk",
		matched: String(o.matched),
		redelivered: String(o.redelivered),
		...(o.more ? { more: o.more } : {}),
		...(o.since ? { since: o.since } : {}),
	};
}

export function outcomeOf(q: Record<string, string>): BulkOutcome | null {
	if (q.done !== "bulk") return null;
	const n = (v: string | undefined) => (v && /^\d{1,6}$/.test(v) ? Number(v) : 0);
	return {
		matched: n(q.matched),
		redelivered: n(q.redelivered),
		more: q.more && q.more.length <= 600 ? q.more : null,
		since: q.since && !Number.isNaN(Date.parse(q.since)) ? q.since : null,
	};
}

/** The keys the outcome adds to the watches page's query (not filters of the list). */
export const OUTCOME_KEYS = ["done", "matched", "redelivered", "more", "since"] as const;

export const BulkRedeliverForm: FC<{ session: Session; outcome: BulkOutcome | null }> = ({
	session,
	outcome,
}) => (
	<section class="card">
		<h2>Bulk redelivery</h2>
		{outcome ? (
			<p class="card notice" role="status">
				{`${outcome.redelivered} of ${outcome.matched} matching failed watches redelivered, each with its own webhook-id.`}
				{outcome.more ? " More may match." : ""}
			</p>
		) : null}
		{outcome?.more ? (
			<PostForm action={BULK_PATH} session={session} class="bulk">
				<input type="hidden" name="cursor" value={outcome.more} />
				{outcome.since ? <input type="hidden" name="since" value={outcome.since.slice(0, 19)} /> : null}
				<button type="submit">{`Go on with the next ${BULK_REDELIVER_MAX}`}</button>
			</PostForm>
		) : (
			<PostForm action={BULK_PATH} session={session} class="bulk">
				<label>
					Failed since (UTC; empty: all)
					<input type="datetime-local" name="since" step={1} />
				</label>
				<button type="submit">Redeliver all failed</button>
			</PostForm>
		)}
		<p class="muted">{`Up to ${BULK_REDELIVER_MAX} at a time, as POST /v1/watches/redeliver; a watch already notifying is left alone.`}</p>
	</section>
);
