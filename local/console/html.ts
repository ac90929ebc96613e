import { createHash } from 'node:crypto';
import { escapeHtml } from '../../functions/shared/html';

/**
 * Markup helpers of the local console: escaping, formatting, and the page layout with its one
 * inline stylesheet. The CSP allows exactly that stylesheet (by hash), the console's own script
 * file and requests to its own origin, nothing else: no inline script, no external resources, no forms.
 */

export { escapeHtml };

/** An http(s) link, or the escaped text when the URL has another scheme. */
export function link(href: string | undefined, text: string, className?: string): string {
  if (!href || !/^https?:\/\//i.test(href)) return escapeHtml(text);
  const cls = className ? ` class="${escapeHtml(className)}"` : '';
  return `<a href="${escapeHtml(href)}"${cls} rel="noreferrer">${escapeHtml(text)}</a>`;
}

/** Escapes plain text and turns its http(s) URLs into links (mail bodies). */
export function linkify(text: string): string {
  const parts: string[] = [];
  let last = 0;
  for (const match of text.matchAll(/https?:\/\/[^\s<>"'`)\]]+/g)) {
    const index = match.index ?? 0;
    parts.push(escapeHtml(text.slice(last, index)), link(match[0], match[0]));
    last = index + match[0].length;
  }
  parts.push(escapeHtml(text.slice(last)));
  return parts.join('');
}

export function formatUsd(usd: number): string {
  return `$${usd.toFixed(usd > 0 && usd < 1 ? 4 : 2)}`;
}

export function formatInt(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatAge(at: string | number, now: number): string {
  const then = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(then)) return 'unknown';
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** `<time>` with a readable UTC stamp. */
export function formatTime(at: string | number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return escapeHtml(String(at));
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#59636e;--bg:#fff;--card:#f6f8fa;--line:#d1d9e0;--link:#0969da;
--ok:#1a7f37;--okbg:#dafbe1;--no:#cf222e;--nobg:#ffebe9;--warn:#9a6700;--warnbg:#fff8c5;--run:#0969da;--runbg:#ddf4ff;--idle:#59636e;--idlebg:#eff2f5}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--card:#151b23;--line:#3d444d;--link:#4493f8;
--ok:#3fb950;--okbg:#12261e;--no:#f85149;--nobg:#25171c;--warn:#d29922;--warnbg:#272115;--run:#4493f8;--runbg:#121d2f;--idle:#9198a1;--idlebg:#212830}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
header{border-bottom:1px solid var(--line);background:var(--card)}
header .bar{max-width:72rem;margin:0 auto;padding:.6rem 1rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header .brand{font-weight:700;color:var(--fg)}
nav{display:flex;gap:.25rem}nav a{padding:.3rem .7rem;border-radius:6px;color:var(--fg)}
nav a[aria-current=page]{background:var(--bg);border:1px solid var(--line);font-weight:600}
main{max-width:72rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.4rem;margin:.25rem 0 1rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}
.muted{color:var(--muted)}.small{font-size:.85rem}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem;margin:.75rem 0}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.75rem}
.facts div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}
.facts dt{font-size:.8rem;color:var(--muted)}.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:1rem;font-size:.78rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.badge.ok{color:var(--ok);background:var(--okbg)}.badge.no{color:var(--no);background:var(--nobg)}
.badge.warn{color:var(--warn);background:var(--warnbg)}.badge.run{color:var(--run);background:var(--runbg)}
.badge.idle{color:var(--idle);background:var(--idlebg)}
.empty{border:1px dashed var(--line);border-radius:8px;padding:1.5rem;text-align:center;color:var(--muted)}
.error{border:1px solid var(--no);background:var(--nobg);border-radius:8px;padding:.75rem 1rem;margin:.75rem 0}
.error pre{white-space:pre-wrap;margin:.25rem 0 0}
svg.gantt{display:block;width:100%;height:14px;background:var(--idlebg);border-radius:3px}
svg.gantt rect{fill:var(--run)}svg.gantt rect.ok{fill:var(--ok)}svg.gantt rect.no{fill:var(--no)}
svg.gantt rect.warn{fill:var(--warn)}svg.gantt rect.idle{fill:var(--idle)}
td.bar{width:45%;vertical-align:middle}
.mail{border:1px solid var(--line);border-radius:8px;margin:1rem 0;overflow:hidden}
.mail .head{background:var(--card);padding:.6rem 1rem;border-bottom:1px solid var(--line)}
.mail .head h2{margin:0;font-size:1rem}
.mail pre{margin:0;padding:1rem;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}
.prose{white-space:pre-wrap;margin:.25rem 0 .75rem}
.data{max-width:34rem;overflow-wrap:anywhere}.kv{display:inline-block;margin:0 .75rem .1rem 0}
.ask{display:flex;gap:.5rem}.ask input{flex:1;padding:.4rem .6rem;font:inherit;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.3rem .8rem;border-radius:6px;border:1px solid var(--line);background:var(--bg);color:var(--fg);cursor:pointer}
.proposals{padding-left:1.2rem}.proposals li{margin:.3rem 0}
:focus-visible{outline:3px solid var(--link);outline-offset:2px}
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/** Headers of every console page. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; script-src 'self'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
};

/** Headers of the console's script file. */
export const SCRIPT_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/javascript; charset=utf-8',
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
};

export type NavItem = 'runs' | 'costs' | 'mail' | 'forge';

export interface LayoutOptions {
  title: string;
  nav?: NavItem;
  /** Seconds between automatic reloads (pages that show active runs). */
  refreshSeconds?: number;
  /** Load the console's script (pages that update themselves without a reload). */
  script?: boolean;
  /** Keep the page current by asking for it again (live-page-script.ts); implies the script. */
  live?: boolean;
}

export function layout(options: LayoutOptions, body: string): string {
  const navLink = (item: NavItem, href: string, label: string) =>
    `<a href="${href}"${options.nav === item ? ' aria-current="page"' : ''}>${label}</a>`;
  const refresh = options.refreshSeconds
    ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(options.refreshSeconds))}">\n`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
${refresh}<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)} · Code Factory console</title>
<style>${STYLE}</style>
</head>
<body>
<header><div class="bar"><a class="brand" href="/">Code Factory · local console</a>
<nav aria-label="Console">${navLink('runs', '/', 'Runs')}${navLink('costs', '/costs', 'Costs')}${navLink('mail', '/mail', 'Mailbox')}${navLink('forge', '/forge', 'Forge PRs')}</nav></div></header>
<main${options.live ? ' data-live-page' : ''}>
${body}
</main>
${options.script || options.live ? '<script src="/console.js" defer></script>\n' : ''}</body>
</html>
`;
}
