import type { CheckAnnotation, CheckRunInfo, CheckSummary, RepoRef } from '../ports';

/**
 * What GitHub offers about a commit's CI, read for the fix loop (issue 17): the check runs
 * (`GET …/commits/{ref}/check-runs`) and the combined commit status (`GET …/commits/{ref}/status`,
 * how CI that is not a GitHub App reports). For a failed check run it also reads the evidence
 * GitHub keeps outside the run: the Actions job's log (`GET …/actions/jobs/{job_id}/logs`, a
 * redirect to a text file; an Actions job's id is its check run's, and Actions leaves the output
 * empty) and the run's annotations (`GET …/check-runs/{id}/annotations`). Other apps' check runs
 * keep their output, and their job-log request answers 404.
 */

/** The last characters of a job's log that are kept (the failures are near the end). */
export const MAX_JOB_LOG_CHARS = 1_000_000;
/** Annotations read per failed check run (one page). */
export const MAX_ANNOTATIONS = 50;

const FAILED_CONCLUSIONS = new Set([
  'failure',
  'cancelled',
  'timed_out',
  'action_required',
  'startup_failure',
  'stale',
]);

/** The slice of an Octokit client this needs. */
export interface RequestClient {
  request(route: string, parameters: Record<string, unknown>): Promise<{ data: unknown }>;
}

interface RawCheckRun {
  id: number;
  name: string;
  status: string;
  conclusion?: string | null;
  details_url?: string | null;
  output?: {
    title?: string | null;
    summary?: string | null;
    text?: string | null;
    annotations_count?: number;
  };
}
interface RawStatus {
  context: string;
  state: string;
  description?: string | null;
  target_url?: string | null;
}
interface RawAnnotation {
  path: string;
  start_line: number;
  annotation_level?: string | null;
  title?: string | null;
  message?: string | null;
}

export const statusOf = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null && 'status' in error && typeof error.status === 'number'
    ? error.status
    : undefined;

export async function readChecks(octokit: RequestClient, repo: RepoRef, sha: string): Promise<CheckSummary> {
  const runsResponse = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/check-runs', {
    ...repo,
    ref: sha,
    per_page: 100,
  });
  const checkRuns = (runsResponse.data as { check_runs: RawCheckRun[] }).check_runs;
  let statuses: RawStatus[] = [];
  try {
    const statusResponse = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}/status', {
      ...repo,
      ref: sha,
    });
    statuses = (statusResponse.data as { statuses?: RawStatus[] }).statuses ?? [];
  } catch (error) {
    if (statusOf(error) !== 404) throw error;
  }
  const runs: CheckRunInfo[] = [
    ...(await Promise.all(checkRuns.map((run) => checkRunInfo(octokit, repo, run)))),
    ...statuses.map(statusInfo),
  ];
  return { state: foldChecks(runs), runs };
}

async function checkRunInfo(octokit: RequestClient, repo: RepoRef, run: RawCheckRun): Promise<CheckRunInfo> {
  const failed = run.status === 'completed' && FAILED_CONCLUSIONS.has(run.conclusion ?? '');
  const [log, annotations] = failed
    ? await Promise.all([
        jobLog(octokit, repo, run.id),
        (run.output?.annotations_count ?? 0) > 0 ? readAnnotations(octokit, repo, run.id) : [],
      ])
    : [undefined, []];
  return {
    name: run.name,
    status: run.status,
    id: run.id,
    ...(run.conclusion ? { conclusion: run.conclusion } : {}),
    ...(run.output?.title ? { title: run.output.title } : {}),
    ...(run.output?.summary ? { summary: run.output.summary } : {}),
    ...(run.output?.text ? { text: run.output.text } : {}),
    ...(run.details_url ? { url: run.details_url } : {}),
    ...(log ? { log } : {}),
    ...(annotations.length > 0 ? { annotations } : {}),
  };
}

function statusInfo(status: RawStatus): CheckRunInfo {
  return {
    name: status.context,
    status: status.state === 'pending' ? 'in_progress' : 'completed',
    ...(status.state === 'pending' ? {} : { conclusion: status.state === 'success' ? 'success' : 'failure' }),
    ...(status.description ? { summary: status.description } : {}),
    ...(status.target_url ? { url: status.target_url } : {}),
  };
}

/** A job's log, its tail when longer than MAX_JOB_LOG_CHARS; undefined when it has none. */
async function jobLog(octokit: RequestClient, repo: RepoRef, jobId: number): Promise<string | undefined> {
  try {
    const { data } = await octokit.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs', {
      ...repo,
      job_id: jobId,
    });
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer);
    return text.length > MAX_JOB_LOG_CHARS
      ? `[log cut: last ${MAX_JOB_LOG_CHARS} characters]\n${text.slice(-MAX_JOB_LOG_CHARS)}`
      : text;
  } catch (error) {
    // Not an Actions job (another app's check run), or its logs expired: the output is all there is.
    if (statusOf(error) === 404 || statusOf(error) === 410) return undefined;
    // Said, not hidden: a fix loop without logs would guess (docs/deploy.md lists the permission).
    if (statusOf(error) === 403)
      return '[the job log could not be read (403): the GitHub App needs the "Actions: read" permission]';
    throw error;
  }
}

async function readAnnotations(octokit: RequestClient, repo: RepoRef, checkRunId: number) {
  try {
    const { data } = await octokit.request(
      'GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations',
      {
        ...repo,
        check_run_id: checkRunId,
        per_page: MAX_ANNOTATIONS,
      },
    );
    return (data as RawAnnotation[]).slice(0, MAX_ANNOTATIONS).map(
      (a): CheckAnnotation => ({
        path: a.path,
        line: a.start_line,
        level: a.annotation_level ?? 'notice',
        ...(a.title ? { title: a.title } : {}),
        message: (a.message ?? '').slice(0, 4000),
      }),
    );
  } catch (error) {
    if (statusOf(error) === 404) return [];
    throw error;
  }
}

export function foldChecks(runs: CheckSummary['runs']): CheckSummary['state'] {
  if (runs.length === 0) return 'none';
  if (runs.some((run) => run.status === 'completed' && FAILED_CONCLUSIONS.has(run.conclusion ?? ''))) {
    return 'failure';
  }
  if (runs.some((run) => run.status !== 'completed')) return 'pending';
  return 'success';
}
