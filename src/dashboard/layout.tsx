// The frame of every dashboard page and the small pieces the pages share: the header with its
// navigation and sign-out, state badges, times, and a form that carries the session's CSRF token.
// Everything is hono/jsx, which escapes every string it is given: user data is only ever text.

import type { Context } from "hono";
import { html } from "hono/html";
import type { Child, FC, PropsWithChildren } from "hono/jsx";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BASE, type DashboardEnv } from "./guards";
import type { Session } from "./session";
import { STYLESHEET_HASH } from "./style";

export const STYLESHEET_PATH = `${BASE}/static/dashboard.${STYLESHEET_HASH}.css`;

type Section = "overview" | "watches";

export const Layout: FC<PropsWithChildren<{ title: string; session?: Session; section?: Section }>> = ({
	title,
	session,
	section,
	children,
}) => (
	<html lang="en">
		<head>
			<meta charset="utf-8" />
			<meta name="viewport" content="width=device-width, initial-scale=1" />
			<meta name="referrer" content="no-referrer" />
			<title>{`${title} · seedance-asset-watcher`}</title>
			<link rel="stylesheet" href={STYLESHEET_PATH} />
		</head>
		<body>
			<header class="top">
				<span class="brand">seedance-asset-watcher</span>
				{session ? (
					<>
						<nav>
							<a href={BASE} aria-current={section === "overview" ? "page" : undefined}>
								Overview
							</a>
							<a href={`${BASE}/watches`} aria-current={section === "watches" ? "page" : undefined}>
								Watches
							</a>
						</nav>
						<span class="who">
							<span>{session.label}</span>
							<PostForm action={`${BASE}/sign-out`} session={session}>
								<button type="submit" class="link">
									Sign out
								</button>
							</PostForm>
						</span>
					</>
				) : null}
			</header>
			<main>{children}</main>
		</body>
	</html>
);

/** Renders a page with its doctype. */
export function render(
	c: Context<DashboardEnv>,
	page: Child,
	status: ContentfulStatusCode = 200,
): Response | Promise<Response> {
	return c.html(html`<!doctype html>${page}`, status);
}

/** A POST form with this session's CSRF token: every button that changes something is one. */
export const PostForm: FC<PropsWithChildren<{ action: string; session: Session; class?: string }>> = (
	props,
) => (
	<form method="post" action={props.action} class={props.class}>
		<input type="hidden" name="csrf" value={props.session.csrf} />
		{props.children}
	</form>
);

export const Badge: FC<{ value: string }> = ({ value }) => <span class={`badge s-${value}`}>{value}</span>;

function ago(ms: number): string {
	const s = Math.round(Math.abs(ms) / 1000);
	const text =
		s < 90
			? `${s} s`
			: s < 90 * 60
				? `${Math.round(s / 60)} min`
				: s < 36 * 3600
					? `${Math.round(s / 3600)} h`
					: `${Math.round(s / 86400)} d`;
	return ms >= 0 ? `${text} ago` : `in ${text}`;
}

/** An ISO time as `YYYY-MM-DD HH:MM:SS UTC` with how long ago (or how soon) it is. */
export const Time: FC<{ iso: string | null | undefined; now: number }> = ({ iso, now }) => {
	if (!iso) return <span class="muted">—</span>;
	const at = Date.parse(iso);
	if (Number.isNaN(at)) return <span>{iso}</span>;
	return (
		<span>
			<time datetime={iso}>{`${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`}</time>{" "}
			<span class="muted">({ago(now - at)})</span>
		</span>
	);
};
