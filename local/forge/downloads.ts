import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import type { ForgeService } from './service';
import type { RepoRecord } from './state';

/**
 * Downloads GitHub hands out by redirect: `GET /repos/{owner}/{repo}/tarball/{ref}` and
 * `GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs` answer 302 to a URL holding a
 * short-lived token, which alone serves the file (a gzipped tar whose one top folder is
 * `<owner>-<repo>-<short sha>/`, or the job's log as plain text).
 */

const LINK_TTL_MS = 5 * 60_000;
const MAX_LINKS = 1_000;
/** Token → the one path it was issued for, and until when. */
const links = new Map<string, { path: string; expires: number }>();

export const CODELOAD_PREFIX = '/_codeload/';
export const JOB_LOGS_PREFIX = '/_job-logs/';

function issue(forge: ForgeService, downloadPath: string): string {
  const now = Date.now();
  for (const [token, link] of links) if (link.expires < now || links.size > MAX_LINKS) links.delete(token);
  const token = randomBytes(16).toString('hex');
  links.set(token, { path: downloadPath, expires: now + LINK_TTL_MS });
  return `${forge.urls.web}${downloadPath}?token=${token}`;
}

/** The path's parts after `prefix` when the query's token was issued for exactly this path. */
function granted(pathname: string, query: URLSearchParams, prefix: string): string[] | undefined {
  const link = links.get(query.get('token') ?? '');
  if (!link || link.expires < Date.now() || link.path !== pathname) return undefined;
  return pathname.slice(prefix.length).split('/');
}

function notFound(response: ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain' });
  response.end('404: Not Found');
}

export const codeloadLocation = (forge: ForgeService, repo: RepoRecord, sha: string): string =>
  issue(forge, `${CODELOAD_PREFIX}${repo.owner}/${repo.name}/legacy.tar.gz/${sha}`);

export const jobLogsLocation = (forge: ForgeService, repo: RepoRecord, jobId: number): string =>
  issue(forge, `${JOB_LOGS_PREFIX}${repo.owner}/${repo.name}/${jobId}`);

export async function handleCodeload(
  forge: ForgeService,
  response: ServerResponse,
  pathname: string,
  query: URLSearchParams,
): Promise<void> {
  const parts = granted(pathname, query, CODELOAD_PREFIX);
  if (!parts) return notFound(response);
  const [owner = '', repoName = '', , sha = ''] = parts;
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

export function handleJobLogs(
  forge: ForgeService,
  response: ServerResponse,
  pathname: string,
  query: URLSearchParams,
): void {
  const parts = granted(pathname, query, JOB_LOGS_PREFIX);
  const [owner = '', repoName = '', jobId = ''] = parts ?? [];
  const log = parts
    ? forge.repos.get(owner, repoName).checkRuns.find((run) => String(run.id) === jobId)?.log
    : undefined;
  if (!log) {
    notFound(response);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(log);
}
