// The dashboard's one stylesheet, served by the worker itself (the CSP allows no other origin and
// no inline style) at a URL that carries a hash of its text, so it can be cached for a year and a
// new release is fetched at once. Light and dark follow the system; narrow screens get one column.

const CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #fff;
  --line: #d9dde3; --accent: #2457c5; --ok: #1a7f37; --warn: #9a6700; --bad: #c9302c; --idle: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --bg: #0f1216; --fg: #e6e9ed; --muted: #9aa4b0;
  --card: #171b21; --line: #2c333c; --accent: #7aa7ff; --ok: #4ac26b; --warn: #d4a72c; --bad: #ff6b66; --idle: #8b949e; } }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; }
a { color: var(--accent); }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace; font-size: 13px; }
header.top { display: flex; flex-wrap: wrap; gap: 8px 20px; align-items: center; padding: 10px 20px;
  background: var(--card); border-bottom: 1px solid var(--line); }
header.top .brand { font-weight: 650; margin-right: 8px; }
header.top nav { display: flex; gap: 16px; flex: 1; }
header.top nav a { text-decoration: none; font-weight: 500; }
header.top nav a[aria-current="page"] { text-decoration: underline; text-underline-offset: 5px; }
header.top .who { color: var(--muted); font-size: 13px; display: flex; gap: 10px; align-items: center; }
main { max-width: 1100px; margin: 0 auto; padding: 20px; }
h1 { font-size: 22px; margin: 4px 0 16px; overflow-wrap: anywhere; }
h1.mono { font-size: 17px; }
h2 { font-size: 16px; margin: 0 0 10px; }
dl + h2 { margin-top: 18px; }
time { white-space: nowrap; }
.grid { display: grid; gap: 16px; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.grid .card { margin-bottom: 0; }
.grid .wide { grid-column: 1 / -1; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:last-child td { border-bottom: 0; }
td .mono, td.mono { overflow-wrap: anywhere; }
dl.fields { display: grid; grid-template-columns: max-content 1fr; gap: 6px 16px; margin: 0; }
dl.fields dt { color: var(--muted); }
dl.fields dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px; margin: 0;
  overflow: auto; max-height: 420px; white-space: pre-wrap; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.s-delivered, .s-Active, .s-ok, .s-healthy, .s-open { color: var(--ok); }
.s-metered { color: var(--warn); }
.card table + table { margin-top: 12px; }
.s-watching, .s-notifying, .s-Processing, .s-failing { color: var(--accent); }
.s-failed, .s-Failed, .s-bad, .s-paused { color: var(--bad); }
.s-cancelled, .s-skipped, .s-Unknown { color: var(--idle); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin-bottom: 14px; }
label { display: grid; gap: 4px; font-size: 13px; color: var(--muted); }
input, select, button { font: inherit; color: inherit; }
input, select { padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--card); min-width: 0; }
button { padding: 6px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
  color: #fff; cursor: pointer; font-weight: 600; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
button.link { background: none; border: 0; color: var(--accent); padding: 0; font-weight: 500; }
.actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: start; }
details.confirm summary { cursor: pointer; color: var(--bad); font-weight: 600; padding: 6px 0; }
details.confirm form { margin-top: 8px; }
.notice { border-left: 4px solid var(--ok); }
.error { border-left: 4px solid var(--bad); }
form.bulk { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; }
.pager { display: flex; gap: 16px; margin-top: 12px; }
.signin { max-width: 380px; margin: 10vh auto; }
.signin form { display: grid; gap: 12px; }
.signin input { width: 100%; }
@media (max-width: 640px) {
  main { padding: 12px; }
  header.top { padding: 10px 12px; }
  dl.fields { grid-template-columns: 1fr; gap: 2px; }
  dl.fields dd { margin-bottom: 8px; }
  th, td { padding-right: 8px; }
  .hide-narrow { display: none; }
}
`.trim();

/** FNV-1a, 32-bit: a content hash for the URL, computed once when the module loads. */
function fnv1a(text: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		h ^= text.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, "0");
}

export const STYLESHEET = CSS;
export const STYLESHEET_HASH = fnv1a(CSS);
