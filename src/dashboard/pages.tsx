// The dashboard's pages as hono/jsx views of the API's own answers: sign-in, the overview's panels,
// a page of watches with its filters, one watch with its delivery attempts and actions, and the
// error page. Metadata, ids, URLs and upstream messages go in as text children, never as markup.

import type { Child, FC } from "hono/jsx";
import { isLive, WATCH_STATES } from "../core/states";
import type { watchPage } from "../routes/watch-list";
import type { AssetView, WatchView } from "../watcher/views";
import { BASE, SIGN_IN_PATH } from "./guards";
import { Badge, Layout, PostForm, Time } from "./layout";
import { type BulkOutcome, BulkRedeliverForm } from "./recovery";
import type { Session } from "./session";

export const SignInPage: FC<{ next: string; refused?: boolean }> = ({ next, refused }) => (
	<Layout title="Sign in">
		<div class="card signin">
			<h1>Sign in</h1>
			<p class="muted">With one of this service's API tokens. The page shows that token's watches only.</p>
			{refused ? (
				<p class="card error" role="alert">
					That token is not accepted.
				</p>
			) : null}
			<form method="post" action={SIGN_IN_PATH}>
				<input type="hidden" name="next" value={next} />
				<label>
					API token
					<input
						type="password"
						name="token"
						required
						autocomplete="current-password"
						spellcheck={false}
						maxlength={1024}
					/>
				</label>
				<button type="submit">Sign in</button>
			</form>
		</div>
	</Layout>
);

export const OverviewPage: FC<{
	session: Session;
	panels: { title: string; wide?: boolean; body: Child }[];
	now: number;
}> = ({ session, panels, now }) => (
	<Layout title="Overview" session={session} section="overview">
		<h1>Overview</h1>
		<div class="grid">
			{panels.map((p) => (
				<section class={p.wide ? "card wide" : "card"}>
					<h2>{p.title}</h2>
					{p.body}
				</section>
			))}
		</div>
		<p class="muted">
			As of <Time iso={new Date(now).toISOString()} now={now} />; counts come from the service's index, which
			follows the assets within moments.
		</p>
	</Layout>
);

type WatchPageAnswer = Awaited<ReturnType<typeof watchPage>>;

export const WatchListPage: FC<{
	session: Session;
	filter: { state?: string; asset_id?: string };
	page: WatchPageAnswer;
	firstPage: boolean;
	outcome: BulkOutcome | null;
	now: number;
}> = ({ session, filter, page, firstPage, outcome, now }) => {
	const query = (extra: Record<string, string>) =>
		`${BASE}/watches?${new URLSearchParams({
			...(filter.state ? { state: filter.state } : {}),
			...(filter.asset_id ? { asset_id: filter.asset_id } : {}),
			...extra,
		})}`;
	return (
		<Layout title="Watches" session={session} section="watches">
			<h1>Watches</h1>
			<form class="filters" method="get" action={`${BASE}/watches`}>
				<label>
					State
					<select name="state">
						<option value="" selected={!filter.state}>
							any
						</option>
						{WATCH_STATES.map((s) => (
							<option value={s} selected={filter.state === s}>
								{s}
							</option>
						))}
					</select>
				</label>
				<label>
					Asset id
					<input name="asset_id" value={filter.asset_id ?? ""} maxlength={128} placeholder="any" />
				</label>
				<button type="submit" class="secondary">
					Filter
				</button>
			</form>
			<div class="card scroll">
				{page.watches.length === 0 ? (
					<p class="muted">No watches match.</p>
				) : (
					<table>
						<thead>
							<tr>
								<th>watch</th>
								<th>asset</th>
								<th>state</th>
								<th class="hide-narrow">asset status</th>
								<th class="hide-narrow">updated</th>
							</tr>
						</thead>
						<tbody>
							{page.watches.map((w) => (
								<tr>
									<td class="mono">
										<a href={`${BASE}/watches/${encodeURIComponent(w.id)}`}>{w.id}</a>
									</td>
									<td class="mono">{w.asset_id}</td>
									<td>
										<Badge value={w.state} />
									</td>
									<td class="hide-narrow">
										<Badge value={w.asset_status} />
									</td>
									<td class="hide-narrow">
										<Time iso={w.updated_at} now={now} />
									</td>
								</tr>
							))}
						</tbody>
					</table>
				)}
			</div>
			<nav class="pager">
				{firstPage ? null : <a href={query({})}>← First page</a>}
				{page.next_cursor ? <a href={query({ cursor: page.next_cursor })}>Next page →</a> : null}
			</nav>
			<BulkRedeliverForm session={session} outcome={outcome} />
		</Layout>
	);
};

const NOTICES = {
	redelivered: "Redelivery scheduled: the event goes out again with the same webhook-id.",
	cancelled: "The watch is cancelled: no further callbacks.",
} as const;
export type Notice = keyof typeof NOTICES;
export const isNotice = (s: unknown): s is Notice => typeof s === "string" && Object.hasOwn(NOTICES, s);

export type AssetPanel =
	| { kind: "view"; view: AssetView }
	| { kind: "error"; message: string }
	/** a cancelled watch: its asset may be unwatched, and looking it up would cost an upstream call */
	| { kind: "hidden" };

const AssetSection: FC<{ asset: AssetPanel; now: number }> = ({ asset, now }) => {
	if (asset.kind === "hidden") return null;
	return (
		<section class="card">
			<h2>Asset</h2>
			{asset.kind === "error" ? (
				<p class="muted">{`Unavailable just now: ${asset.message}`}</p>
			) : (
				<dl class="fields">
					<dt>upstream status</dt>
					<dd>
						<Badge value={asset.view.status} />
					</dd>
					<dt>name</dt>
					<dd>{asset.view.name ?? <span class="muted">—</span>}</dd>
					<dt>type</dt>
					<dd>{asset.view.asset_type ?? <span class="muted">—</span>}</dd>
					<dt>checks</dt>
					<dd>{asset.view.checks}</dd>
					<dt>last check</dt>
					<dd>
						<Time iso={asset.view.checked_at} now={now} />
					</dd>
					<dt>next check</dt>
					<dd>
						<Time iso={asset.view.next_check_at} now={now} />
					</dd>
					<dt>last upstream error</dt>
					<dd>{asset.view.last_error ?? <span class="muted">—</span>}</dd>
				</dl>
			)}
		</section>
	);
};

export const WatchDetailPage: FC<{
	session: Session;
	watch: WatchView;
	asset: AssetPanel;
	notice?: Notice;
	now: number;
}> = ({ session, watch: w, asset, notice, now }) => {
	const d = w.delivery;
	const action = (verb: string) => `${BASE}/watches/${encodeURIComponent(w.id)}/${verb}`;
	const canRedeliver = d !== null && w.state !== "cancelled" && w.state !== "skipped";
	return (
		<Layout title={`Watch ${w.id}`} session={session} section="watches">
			<h1 class="mono">{w.id}</h1>
			{notice ? (
				<p class="card notice" role="status">
					{NOTICES[notice]}
				</p>
			) : null}
			<section class="card">
				<h2>Watch</h2>
				<dl class="fields">
					<dt>state</dt>
					<dd>
						<Badge value={w.state} />
					</dd>
					<dt>asset</dt>
					<dd class="mono">
						<a href={`${BASE}/watches?asset_id=${encodeURIComponent(w.asset_id)}`}>{w.asset_id}</a>{" "}
						<Badge value={w.asset_status} />
					</dd>
					<dt>callback URL</dt>
					<dd class="mono">{w.callback_url}</dd>
					<dt>events</dt>
					<dd>{w.events.join(", ")}</dd>
					<dt>callback headers</dt>
					<dd>
						{w.callback_header_names.length > 0 ? (
							<span class="mono">{w.callback_header_names.join(", ")}</span>
						) : (
							<span class="muted">none</span>
						)}{" "}
						<span class="muted">(values are never shown)</span>
					</dd>
					<dt>created</dt>
					<dd>
						<Time iso={w.created_at} now={now} />
					</dd>
					<dt>updated</dt>
					<dd>
						<Time iso={w.updated_at} now={now} />
					</dd>
					<dt>expires</dt>
					<dd>
						<Time iso={w.expires_at} now={now} />
					</dd>
				</dl>
			</section>
			<AssetSection asset={asset} now={now} />
			<section class="card">
				<h2>Metadata</h2>
				<pre>{JSON.stringify(w.metadata, null, 2)}</pre>
			</section>
			<section class="card">
				<h2>Delivery</h2>
				{d ? (
					<>
						<dl class="fields">
							<dt>event</dt>
							<dd class="mono">{d.event_type}</dd>
							<dt>webhook-id</dt>
							<dd class="mono">{d.webhook_id}</dd>
							<dt>attempts</dt>
							<dd>
								<span data-testid="attempts">{d.attempts}</span> of {d.max_attempts}
							</dd>
							<dt>last status</dt>
							<dd>{d.last_status ?? <span class="muted">—</span>}</dd>
							<dt>last error</dt>
							<dd>{d.last_error ?? <span class="muted">—</span>}</dd>
							<dt>next attempt</dt>
							<dd>
								<Time iso={d.next_attempt_at} now={now} />
							</dd>
							<dt>delivered</dt>
							<dd>
								<Time iso={d.delivered_at} now={now} />
							</dd>
						</dl>
						<h2>Latest attempts</h2>
						<div class="scroll">
							<table>
								<thead>
									<tr>
										<th class="num">#</th>
										<th>at</th>
										<th class="num">status</th>
										<th class="num">duration</th>
										<th>error</th>
									</tr>
								</thead>
								<tbody>
									{d.recent_attempts.map((a) => (
										<tr>
											<td class="num">{a.attempt}</td>
											<td>
												<Time iso={a.at} now={now} />
											</td>
											<td class="num">
												{a.status === null ? (
													<span class="muted">—</span>
												) : (
													<span class={a.status >= 200 && a.status < 300 ? "s-ok" : "s-bad"}>{a.status}</span>
												)}
											</td>
											<td class="num">{a.duration_ms === null ? "—" : `${a.duration_ms} ms`}</td>
											<td>{a.error ?? ""}</td>
										</tr>
									))}
								</tbody>
							</table>
						</div>
					</>
				) : (
					<p class="muted">No event yet: the asset has not finished.</p>
				)}
			</section>
			<section class="card actions">
				{canRedeliver ? (
					<PostForm action={action("redeliver")} session={session}>
						<button type="submit">Redeliver</button>
					</PostForm>
				) : null}
				{isLive(w.state) ? (
					<details class="confirm">
						<summary>Cancel this watch…</summary>
						<PostForm action={action("cancel")} session={session}>
							<button type="submit" class="danger">
								Yes, cancel it
							</button>
						</PostForm>
					</details>
				) : null}
				{!canRedeliver && !isLive(w.state) ? <p class="muted">Nothing to do for this watch.</p> : null}
			</section>
		</Layout>
	);
};

export const ErrorPage: FC<{ status: number; message: string; requestId?: string; session?: Session }> = ({
	status,
	message,
	requestId,
	session,
}) => (
	<Layout title={`Error ${status}`} session={session}>
		<div class="card error" role="alert">
			<h1>{`Error ${status}`}</h1>
			<p>{message}</p>
			{requestId ? <p class="muted">{`Request id ${requestId}`}</p> : null}
			<p>
				<a href={session ? BASE : SIGN_IN_PATH}>{session ? "Back to the overview" : "Sign in"}</a>
			</p>
		</div>
	</Layout>
);
