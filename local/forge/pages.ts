import type { ServerResponse } from 'node:http';
import type { ForgeService } from './service';
import type { RepoRecord } from './state';

/**
 * Plain read-only HTML pages behind the forge's `html_url`s (repository, issue, pull request), so
 * links from the console and from comments lead somewhere readable.
 */

const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] as string,
  );

export async function renderPage(
  forge: ForgeService,
  pathname: string,
  response: ServerResponse,
): Promise<boolean> {
  const match = /^\/([^/]+)\/([^/]+)(?:\/(issues|pull)\/(\d+))?\/?$/.exec(pathname);
  if (!match || match[1] === 'repos' || match[1] === 'users') return false;
  const owner = decodeURIComponent(match[1] as string);
  const name = decodeURIComponent(match[2] as string);
  if (!forge.repos.has(owner, name)) return false;
  const repo = forge.repos.get(owner, name);
  const number = match[4] ? Number(match[4]) : undefined;
  let body: string;
  if (number === undefined) {
    body = repoPage(repo);
  } else {
    const issue = repo.issues.find((candidate) => candidate.number === number);
    if (!issue) return false;
    body = await itemPage(forge, repo, number);
  }
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  response.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`${repo.owner}/${repo.name}`)} · forge</title>` +
      '<style>body{font:15px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2328}' +
      'pre{background:#f6f8fa;padding:.75rem;overflow:auto;white-space:pre-wrap}.meta{color:#59636e}' +
      '.comment{border:1px solid #d1d9e0;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}</style></head>' +
      `<body>${body}</body></html>`,
  );
  return true;
}

function repoPage(repo: RepoRecord): string {
  const items = [...repo.issues]
    .sort((a, b) => b.number - a.number)
    .map(
      (issue) =>
        `<li><a href="/${repo.owner}/${repo.name}/${issue.isPull ? 'pull' : 'issues'}/${issue.number}">#${issue.number} ${escapeHtml(issue.title)}</a> <span class="meta">${issue.isPull ? 'pull request' : 'issue'}, ${issue.state}</span></li>`,
    )
    .join('');
  return `<h1>${escapeHtml(`${repo.owner}/${repo.name}`)}</h1><p class="meta">default branch ${escapeHtml(repo.defaultBranch)}</p><ul>${items}</ul>`;
}

async function itemPage(forge: ForgeService, repo: RepoRecord, number: number): Promise<string> {
  const issue = forge.issues.get(repo, number);
  const parts = [
    `<p><a href="/${repo.owner}/${repo.name}">${escapeHtml(`${repo.owner}/${repo.name}`)}</a></p>`,
    `<h1>${escapeHtml(issue.title)} <span class="meta">#${number}</span></h1>`,
  ];
  if (issue.isPull) {
    const pull = forge.pullViews.get(repo, number);
    const state = pull.merged ? 'merged' : issue.state;
    const runs = repo.checkRuns.filter((run) => run.headSha === pull.headSha);
    const checks =
      runs
        .map((run) => `${escapeHtml(run.name)}: ${run.status}${run.conclusion ? ` (${run.conclusion})` : ''}`)
        .join(', ') || 'none';
    parts.push(
      `<p class="meta">${state}${pull.draft ? ', draft' : ''} · ${escapeHtml(pull.headRef)} → ${escapeHtml(pull.baseRef)} · head ${pull.headSha.slice(0, 7)}` +
        `${pull.mergeCommitSha ? ` · merge commit ${pull.mergeCommitSha.slice(0, 7)}` : ''} · checks: ${checks}</p>`,
    );
  } else {
    parts.push(
      `<p class="meta">${issue.state} · opened by ${escapeHtml(issue.author)} · labels: ${escapeHtml(issue.labels.join(', ') || 'none')}</p>`,
    );
  }
  parts.push(`<pre>${escapeHtml(issue.body)}</pre>`);
  for (const comment of repo.comments.filter((candidate) => candidate.issueNumber === number)) {
    parts.push(
      `<div class="comment" id="issuecomment-${comment.id}"><p class="meta">${escapeHtml(comment.author)} · ${comment.createdAt}</p><pre>${escapeHtml(comment.body)}</pre></div>`,
    );
  }
  for (const review of repo.reviews.filter(
    (candidate) => candidate.pullNumber === number && candidate.state !== 'PENDING',
  )) {
    parts.push(
      `<div class="comment"><p class="meta">review by ${escapeHtml(review.author)}: ${review.state}</p><pre>${escapeHtml(review.body)}</pre></div>`,
    );
  }
  return parts.join('');
}
