import { annotationsOf, exitAnnotation } from '../annotations';
import { Limiter, runCheckJob } from '../ci';
import type { CommitData } from '../git';
import {
  checkRunJson,
  checkSuiteJson,
  pullRefJson,
  type Urls,
  workflowJson,
  workflowRunJson,
} from '../payloads';
import {
  type CheckRunRecord,
  type CheckSuiteRecord,
  type ForgeState,
  nowIso,
  type PullRecord,
  type RepoRecord,
  type UserRecord,
} from '../state';
import type { Events } from './events';
import { issueOf } from './issues';
import type { Repos } from './repos';
import type { Users } from './users';

const CHECK_RUN_NAME = 'test';
/** GitHub caps check run output text at 65535 characters. */
const MAX_OUTPUT_TEXT = 60_000;

type Outcome = { conclusion: 'success' | 'failure' | 'timed_out'; summary: string; text: string };

/**
 * Local CI: each new PR head gets one check suite with one check run of the repository's command,
 * reported as GitHub Actions would (check_run, check_suite and workflow_run webhooks): an empty
 * output, the job's log behind the jobs logs endpoint, and annotations (annotations.ts).
 */
export class Checks {
  private readonly limiter: Limiter;
  private jobs = 0;
  private closed = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly state: ForgeState,
    private readonly urls: Urls,
    private readonly repos: Repos,
    private readonly users: Users,
    private readonly events: Events,
    private readonly options: { timeoutMs: number; concurrency: number },
  ) {
    this.limiter = new Limiter(options.concurrency);
  }

  get running(): boolean {
    return this.jobs > 0;
  }

  /** Starts no more runs and kills running commands; resolves when none is left (bounded). */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    this.stopping.abort();
    const deadline = Date.now() + timeoutMs;
    while (this.jobs > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  suiteJson(repo: RepoRecord, suite: CheckSuiteRecord, headCommit?: CommitData) {
    return checkSuiteJson(
      this.urls,
      repo,
      this.users.orGhost(repo.owner),
      suite,
      this.pullRefsFor(repo, suite.headSha),
      headCommit,
    );
  }

  runJson(repo: RepoRecord, run: CheckRunRecord) {
    const suite = repo.checkSuites.find((candidate) => candidate.id === run.suiteId) as CheckSuiteRecord;
    return checkRunJson(
      this.urls,
      repo,
      this.users.orGhost(repo.owner),
      run,
      suite,
      this.pullRefsFor(repo, run.headSha),
    );
  }

  /** Queues the repo's check command for a new PR head (one suite per head SHA). */
  schedule(actor: UserRecord, repo: RepoRecord, pull: PullRecord, before: string | null): void {
    const command = repo.ciCommand;
    if (!command || this.closed) return;
    const headSha = pull.headSha;
    if (repo.checkSuites.some((suite) => suite.headSha === headSha)) return;
    const now = nowIso();
    const suite: CheckSuiteRecord = {
      id: this.state.newId(),
      headSha,
      headBranch: pull.headRef,
      before,
      status: 'queued',
      conclusion: null,
      createdAt: now,
      updatedAt: now,
      workflowRunId: this.state.newId(),
      runNumber: repo.checkSuites.length + 1,
    };
    const run: CheckRunRecord = {
      id: this.state.newId(),
      suiteId: suite.id,
      name: CHECK_RUN_NAME,
      headSha,
      status: 'queued',
      conclusion: null,
      startedAt: now,
      completedAt: null,
      output: { title: null, summary: null, text: null },
    };
    // Recorded before the request that caused it returns, so a reader never sees "no CI" for it.
    repo.checkSuites.push(suite);
    repo.checkRuns.push(run);
    this.jobs += 1;
    void this.limiter
      .run(() => this.execute(actor, repo, suite, run, command))
      .catch((error: unknown) =>
        this.complete(actor, repo, suite, run, {
          conclusion: 'failure',
          summary: 'The local CI could not run the check command.',
          text: error instanceof Error ? error.message : String(error),
        }),
      )
      .catch(() => undefined)
      .finally(() => {
        this.jobs -= 1;
      });
  }

  private async execute(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
    command: string,
  ): Promise<void> {
    if (this.closed) return;
    const started = nowIso();
    suite.status = 'in_progress';
    suite.updatedAt = started;
    run.status = 'in_progress';
    run.startedAt = started;
    void this.state.persist();
    const git = this.repos.git(repo);
    const result = await runCheckJob({
      command,
      checkout: (dir) => git.checkout(suite.headSha, dir),
      timeoutMs: this.options.timeoutMs,
      signal: this.stopping.signal,
    });
    if (this.closed) return;
    const seconds = (result.durationMs / 1000).toFixed(1);
    const summary =
      result.conclusion === 'success'
        ? `\`${command}\` passed in ${seconds} s.`
        : result.conclusion === 'timed_out'
          ? `\`${command}\` timed out after ${Math.round(this.options.timeoutMs / 1000)} s.`
          : `\`${command}\` failed with exit code ${result.exitCode ?? 'none'} after ${seconds} s.`;
    const cut = (limit: number) => {
      const kept = result.log.length > limit ? result.log.slice(result.log.length - limit) : result.log;
      return result.truncated || kept.length < result.log.length
        ? `[output truncated: last ${kept.length} characters]\n${kept}`
        : kept;
    };
    const text = cut(MAX_OUTPUT_TEXT);
    const exitCode = result.exitCode ?? (result.conclusion === 'success' ? 0 : 1);
    // The job log is the whole output the job kept (as GitHub keeps a job's whole log), not the
    // check run text's 60,000 characters: a long test run's failures are far from its end.
    run.log = actionsLog(command, cut(Number.POSITIVE_INFINITY), exitCode);
    run.annotations = annotationsOf(result.log, result.workdir, exitCode);
    await this.complete(actor, repo, suite, run, { conclusion: result.conclusion, summary, text });
  }

  private async complete(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
    outcome: Outcome,
  ): Promise<void> {
    const now = nowIso();
    run.status = 'completed';
    run.conclusion = outcome.conclusion;
    run.completedAt = now;
    // As GitHub Actions leaves it: the check run's output is empty, the log is the job's
    // (GET /repos/{owner}/{repo}/actions/jobs/{job_id}/logs; a job's id is its check run's).
    run.output = { title: null, summary: null, text: null };
    run.log ??= actionsLog(
      'local CI',
      `${outcome.summary}\n${outcome.text}`,
      outcome.conclusion === 'success' ? 0 : 1,
    );
    run.annotations ??= outcome.conclusion === 'success' ? [] : [exitAnnotation(1)];
    suite.status = 'completed';
    suite.conclusion = outcome.conclusion === 'success' ? 'success' : 'failure';
    suite.updatedAt = now;
    void this.state.persist();
    await this.emitCompleted(actor, repo, suite, run);
  }

  private async emitCompleted(
    actor: UserRecord,
    repo: RepoRecord,
    suite: CheckSuiteRecord,
    run: CheckRunRecord,
  ): Promise<void> {
    const headCommit = await this.repos.git(repo).readCommit(suite.headSha);
    this.events.emit('check_run', repo, actor, { action: 'completed', check_run: this.runJson(repo, run) });
    // The webhook's check_suite has no `repository` (the payload's top level carries it).
    const { repository: _repository, ...checkSuite } = this.suiteJson(repo, suite, headCommit);
    this.events.emit('check_suite', repo, actor, { action: 'completed', check_suite: checkSuite });
    this.events.emit('workflow_run', repo, actor, {
      action: 'completed',
      workflow_run: workflowRunJson(
        this.urls,
        repo,
        this.users.orGhost(repo.owner),
        suite,
        this.pullRefsFor(repo, suite.headSha),
        actor,
        headCommit,
      ),
      workflow: workflowJson(this.urls, repo),
    });
  }

  /** The open PRs whose head is `sha`, as the `pull_requests` of a check payload. */
  private pullRefsFor(repo: RepoRecord, sha: string): unknown[] {
    return repo.pulls
      .filter((pull) => pull.headSha === sha && issueOf(repo, pull.number).state === 'open')
      .map((pull) => pullRefJson(this.urls, repo, pull, pull.baseSha));
  }
}

/**
 * A job log as GitHub Actions writes it: each line stamped with its UTC time, the step in a
 * `##[group]Run …` block, and a last `##[error]` line when the step failed.
 */
export function actionsLog(command: string, output: string, exitCode: number): string {
  const stamp = () => `${new Date().toISOString().replace('Z', '0000Z')} `;
  const lines = [`##[group]Run ${command}`, `${command}`, '##[endgroup]', ...output.split('\n')];
  if (exitCode !== 0) lines.push(`##[error]Process completed with exit code ${exitCode}.`);
  return `${lines.map((line) => stamp() + line).join('\n')}\n`;
}
