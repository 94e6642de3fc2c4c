// The overview's panels. Each is a small view fed by one data function, the same one an API route
// answers with; a panel whose data cannot be had says so in its own place and the others still show.
// A new panel (the receivers, say) is one more entry in OVERVIEW_PANELS.

import type { Child, FC } from "hono/jsx";
import { HttpError } from "../core/errors";
import { ASSET_STATUSES, WATCH_STATES } from "../core/states";
import { receiverPage } from "../routes/receivers";
import { statsFor } from "../routes/stats";
import { BASE } from "./guards";
import { Badge, Time } from "./layout";
import { PANEL_RECEIVERS, ReceiversView } from "./recovery";

/** What every panel's data function may use: the caller and one read of the shared counts. */
export interface PanelContext {
	env: Env;
	owner: string;
	now: number;
	/** `GET /v1/stats`' answer, read once per page however many panels use it */
	stats: () => ReturnType<typeof statsFor>;
}

export function panelContext(env: Env, owner: string, now: number): PanelContext {
	let stats: ReturnType<typeof statsFor> | undefined;
	return { env, owner, now, stats: () => (stats ??= statsFor(env, owner, now)) };
}

export interface Panel {
	title: string;
	/** spans the overview's whole width (a table of several columns) */
	wide?: boolean;
	/** the panel's body, or the reason its data is unavailable */
	render: (ctx: PanelContext) => Promise<Child>;
}

/** A panel from its data function and its view. */
export function definePanel<T>(def: {
	title: string;
	wide?: boolean;
	load: (ctx: PanelContext) => Promise<T>;
	View: FC<{ data: T; now: number }>;
}): Panel {
	return {
		title: def.title,
		wide: def.wide,
		async render(ctx) {
			try {
				const data = await def.load(ctx);
				return <def.View data={data} now={ctx.now} />;
			} catch (err) {
				if (!(err instanceof HttpError)) throw err;
				return <p class="muted">{`Unavailable just now: ${err.message}`}</p>;
			}
		},
	};
}

const CountTable: FC<{ rows: [string, number, string | null][]; total: number; label: string }> = ({
	rows,
	total,
	label,
}) => (
	<table>
		<thead>
			<tr>
				<th>{label}</th>
				<th class="num">count</th>
			</tr>
		</thead>
		<tbody>
			{rows.map(([name, n, href]) => (
				<tr>
					<td>{href ? <a href={href}>{<Badge value={name} />}</a> : <Badge value={name} />}</td>
					<td class="num">{n}</td>
				</tr>
			))}
			<tr>
				<td>
					<strong>total</strong>
				</td>
				<td class="num">
					<strong>{total}</strong>
				</td>
			</tr>
		</tbody>
	</table>
);

export const watchesByState = definePanel({
	title: "Watches by state",
	load: async (ctx) => (await ctx.stats()).watches,
	View: ({ data }) => (
		<CountTable
			label="state"
			total={data.total}
			rows={WATCH_STATES.map((s) => [s, data.by_state[s], `${BASE}/watches?state=${s}`])}
		/>
	),
});

export const assetsByStatus = definePanel({
	title: "Assets by upstream status",
	load: async (ctx) => (await ctx.stats()).assets,
	View: ({ data }) => (
		<CountTable
			label="status"
			total={data.total}
			rows={ASSET_STATUSES.map((s) => [s, data.by_status[s], null])}
		/>
	),
});

export const mostOverdue = definePanel({
	title: "Most overdue check",
	load: async (ctx) => (await ctx.stats()).most_overdue,
	View: ({ data, now }) =>
		data ? (
			<div>
				<p>
					<a href={`${BASE}/watches?asset_id=${encodeURIComponent(data.asset_id)}`} class="mono">
						{data.asset_id}
					</a>
				</p>
				<p>
					due <Time iso={data.due_at} now={now} />
				</p>
				<p class="muted">The cron sweep re-arms an asset overdue by more than 2 minutes.</p>
			</div>
		) : (
			<p class="muted">Nothing is overdue: every asset ran when it was due.</p>
		),
});

export const receivers = definePanel({
	title: "Receivers",
	wide: true,
	load: (ctx) => receiverPage(ctx.env, ctx.owner, { limit: PANEL_RECEIVERS }),
	View: ReceiversView,
});

/** A duration as a person reads it: 850 ms, 4.2 s, 5.3 min, 1.5 h. */
function duration(ms: number | null): string {
	if (ms === null) return "—";
	if (ms < 1000) return `${ms} ms`;
	if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
	if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
	return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The upstream's side: the deployment's budget and errors, and the poll model per AssetType. */
export const upstream = definePanel({
	title: "Upstream (whole deployment)",
	load: async (ctx) => (await ctx.stats()).upstream,
	View: ({ data }) => {
		const errors = Object.entries(data.budget?.errors_last_hour ?? {}).sort(([, a], [, b]) => b - a);
		return (
			<div>
				{data.budget ? (
					<p>
						budget <strong>{data.budget.rate_rps}</strong> of {data.budget.max_rps} calls/s ·{" "}
						<Badge value={data.budget.mode} /> · <strong>{data.budget.waiting}</strong> waiting
					</p>
				) : (
					<p class="muted">No budget: UPSTREAM_MAX_RPS is 0, or the budget did not answer.</p>
				)}
				<table>
					<thead>
						<tr>
							<th>error (last hour)</th>
							<th class="num">count</th>
						</tr>
					</thead>
					<tbody>
						{errors.length === 0 ? (
							<tr>
								<td class="muted">none</td>
								<td class="num">0</td>
							</tr>
						) : (
							errors.map(([code, n]) => (
								<tr>
									<td class="mono">{code}</td>
									<td class="num">{n}</td>
								</tr>
							))
						)}
					</tbody>
				</table>
				<table>
					<thead>
						<tr>
							<th>type</th>
							<th class="num">samples</th>
							<th class="num">p10</th>
							<th class="num">p50</th>
							<th class="num">p90</th>
						</tr>
					</thead>
					<tbody>
						{data.model.length === 0 ? (
							<tr>
								<td class="muted" colspan={5}>
									nothing learned yet: plans use the backoff
								</td>
							</tr>
						) : (
							data.model.map((m) => (
								<tr>
									<td>{m.type}</td>
									<td class="num">{m.samples}</td>
									<td class="num">{duration(m.p10_ms)}</td>
									<td class="num">{duration(m.p50_ms)}</td>
									<td class="num">{duration(m.p90_ms)}</td>
								</tr>
							))
						)}
					</tbody>
				</table>
				{data.model_problems.length > 0 ? (
					<p class="muted">{`Unreadable models (read as empty): ${data.model_problems.map((p) => p.type).join(", ")}`}</p>
				) : null}
				<p class="muted">Every token's calls together; a type plans from its model from 20 samples on.</p>
			</div>
		);
	},
});

export const OVERVIEW_PANELS: readonly Panel[] = [
	watchesByState,
	assetsByStatus,
	mostOverdue,
	upstream,
	receivers,
];
