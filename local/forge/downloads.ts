import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import type { ForgeService } from './service';
import type { RepoRecord } from './state';

/**
 * The repository tarball as GitHub serves it: `GET /repos/{owner}/{repo}/tarball/{ref}` answers
 * 302 to a codeload URL holding a short-lived token, which serves a gzipped tar whose one top
 * folder is `<owner>-<repo>-<short sha>/`. The factory reads a run's whole workspace this way.
 */

const LINK_TTL_MS = 5 * 60_000;
const MAX_LINKS = 1_000;
const links = new Map<string, { owner: string; repo: string; sha: string; expires: number }>();
const logLinks = new Map<string, { owner: string; repo: string; jobId: number; expires: number }>();

/** Where GitHub sends a job's logs: a short-lived URL of a plain text file. */
export const JOB_LOGS_PREFIX = '/_job-logs/';

export function jobLogsLocation(forge: ForgeService, repo: RepoRecord, jobId: number): string {
  const now = Date.now();
  for (const [token, link] of logLinks)
    if (link.expires < now || logLinks.size > MAX_LINKS) logLinks.delete(token);
  const token = randomBytes(16).toString('hex');
  logLinks.set(token, { owner: repo.owner, repo: repo.name, jobId, expires: now + LINK_TTL_MS });
  return `${forge.urls.web}${JOB_LOGS_PREFIX}${repo.owner}/${repo.name}/${jobId}?token=${token}`;
}

export function handleJobLogs(
  forge: ForgeService,
  response: ServerResponse,
  pathname: string,
  query: URLSearchParams,
): void {
  const [owner = '', repoName = '', jobId = ''] = pathname.slice(JOB_LOGS_PREFIX.length).split('/');
  const link = logLinks.get(query.get('token') ?? '');
  const run =
    link &&
    link.expires >= Date.now() &&
    link.owner === owner &&
    link.repo === repoName &&
    String(link.jobId) === jobId
      ? forge.repos.get(owner, repoName).checkRuns.find((r) => r.id === link.jobId)
      : undefined;
  if (!run?.log) {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('404: Not Found');
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(run.log);
}

export const CODELOAD_PREFIX = '/_codeload/';

/** The Location of the redirect for `sha` of `repo`. */
export function codeloadLocation(forge: ForgeService, repo: RepoRecord, sha: string): string {
  const now = Date.now();
  for (const [token, link] of links) if (link.expires < now || links.size > MAX_LINKS) links.delete(token);
  const token = randomBytes(16).toString('hex');
  links.set(token, { owner: repo.owner, repo: repo.name, sha, expires: now + LINK_TTL_MS });
  return `${forge.urls.web}${CODELOAD_PREFIX}${repo.owner}/${repo.name}/legacy.tar.gz/${sha}?token=${token}`;
}

/** Serves a codeload URL: the token must be one this forge handed out, unexpired, for that path. */
export async function handleCodeload(
  forge: ForgeService,
  response: ServerResponse,
  pathname: string,
  query: URLSearchParams,
  _request?: IncomingMessage,
): Promise<void> {
  const [owner = '', repoName = '', , sha = ''] = pathname.slice(CODELOAD_PREFIX.length).split('/');
  const link = links.get(query.get('token') ?? '');
  if (
    !link ||
    link.expires < Date.now() ||
    link.owner !== owner ||
    link.repo !== repoName ||
    link.sha !== sha
  ) {
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('404: Not Found');
    return;
  }
  const repo = forge.repos.get(owner, repoName);
  const work = await mkdtemp(path.join(tmpdir(), 'forge-tarball-'));
  try {
    const top = `${owner}-${repoName}-${sha.slice(0, 7)}`;
    await forge.repos.git(repo).checkout(sha, path.join(work, top));
    const body = await new Response(
      tar.c({ gzip: true, cwd: work, portable: true }, [top]) as unknown as ReadableStream,
    ).arrayBuffer();
    response.writeHead(200, {
      'content-type': 'application/x-gzip',
      'content-disposition': `attachment; filename=${top}.tar.gz`,
      'content-length': String(body.byteLength),
    });
    response.end(Buffer.from(body));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
