import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Everything the forge keeps besides git objects: users, repositories and their issues, comments,
 * pull requests, reviews and checks. One JSON document, written atomically (temp file + rename)
 * after each change when the forge has a data dir, kept in memory otherwise.
 */

export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read';
export type UserType = 'User' | 'Bot' | 'Organization';

export interface UserRecord {
  id: number;
  login: string;
  type: UserType;
  name: string;
  email: string;
  token?: string;
  createdAt: string;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string;
}

export interface IssueRecord {
  id: number;
  number: number;
  title: string;
  body: string;
  author: string;
  state: 'open' | 'closed';
  stateReason: 'completed' | 'not_planned' | 'reopened' | null;
  labels: string[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  /** Set when this issue number is a pull request. */
  isPull: boolean;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  author: string;
  createdAt: string;
  updatedAt: string;
}

export interface PullRecord {
  id: number;
  number: number;
  headRef: string;
  headSha: string;
  baseRef: string;
  /** The base tip when the PR was opened or last synchronised (GitHub's base.sha). */
  baseSha: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: string | null;
  mergeCommitSha: string | null;
  maintainerCanModify: boolean;
}

export interface ReviewRecord {
  id: number;
  pullNumber: number;
  author: string;
  body: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'PENDING';
  commitId: string;
  submittedAt: string | null;
}

/** An inline comment of a review, on a line of the pull request's diff. */
export interface ReviewCommentRecord {
  id: number;
  reviewId: number;
  pullNumber: number;
  author: string;
  path: string;
  line: number;
  side: 'LEFT' | 'RIGHT';
  body: string;
  commitId: string;
  diffHunk: string;
  createdAt: string;
}

export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type CheckConclusion = 'success' | 'failure' | 'timed_out' | 'cancelled' | null;

export interface CheckSuiteRecord {
  id: number;
  headSha: string;
  headBranch: string;
  /** Head of the previous suite on this branch (GitHub's `before`). */
  before: string | null;
  status: CheckStatus;
  conclusion: CheckConclusion;
  createdAt: string;
  updatedAt: string;
  /** The workflow run this suite reports as (one per suite). */
  workflowRunId: number;
  runNumber: number;
}

export interface CheckRunRecord {
  id: number;
  suiteId: number;
  name: string;
  headSha: string;
  status: CheckStatus;
  conclusion: CheckConclusion;
  startedAt: string;
  completedAt: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  /** The job's log in GitHub Actions' format, served only by the jobs logs endpoint. */
  log?: string;
  /** Served by GET /repos/{owner}/{repo}/check-runs/{id}/annotations. */
  annotations?: AnnotationRecord[];
}

export interface AnnotationRecord {
  path: string;
  startLine: number;
  endLine: number;
  level: 'notice' | 'warning' | 'failure';
  title: string;
  message: string;
}

/** A commit status (`POST /repos/{owner}/{repo}/statuses/{sha}`), as CI that is not an App reports. */
export interface StatusRecord {
  id: number;
  sha: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description: string | null;
  targetUrl: string | null;
  creator: string;
  createdAt: string;
  updatedAt: string;
}

export interface RepoRecord {
  id: number;
  owner: string;
  name: string;
  description: string;
  defaultBranch: string;
  createdAt: string;
  /** Collaborator roles by login. */
  roles: Record<string, Role>;
  /** The local CI command run on each new PR head; none → no check suites. */
  ciCommand: string | null;
  labels: LabelRecord[];
  nextNumber: number;
  issues: IssueRecord[];
  comments: CommentRecord[];
  pulls: PullRecord[];
  reviews: ReviewRecord[];
  /** Absent in state written before review comments existed. */
  reviewComments?: ReviewCommentRecord[];
  checkSuites: CheckSuiteRecord[];
  checkRuns: CheckRunRecord[];
  /** Absent in state written before commit statuses existed. */
  statuses?: StatusRecord[];
}

export interface ForgeStateData {
  version: 1;
  nextId: number;
  users: Record<string, UserRecord>;
  repos: Record<string, RepoRecord>;
}

const emptyState = (): ForgeStateData => ({ version: 1, nextId: 1000, users: {}, repos: {} });

export class ForgeState {
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    readonly data: ForgeStateData,
    private readonly file: string | undefined,
  ) {}

  static async open(dataDir: string | undefined): Promise<ForgeState> {
    if (!dataDir) return new ForgeState(emptyState(), undefined);
    const file = path.join(dataDir, 'forge-state.json');
    await mkdir(dataDir, { recursive: true });
    let data = emptyState();
    try {
      data = JSON.parse(await readFile(file, 'utf8')) as ForgeStateData;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return new ForgeState(data, file);
  }

  newId(): number {
    this.data.nextId += 1;
    return this.data.nextId;
  }

  /** Schedules a write of the whole state; concurrent calls coalesce into one write at a time. */
  persist(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, JSON.stringify(this.data));
      await rename(temp, file);
    });
    return this.saving;
  }

  flush(): Promise<void> {
    return this.saving;
  }
}

export const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
export const newToken = (prefix: string): string => `${prefix}_${randomBytes(20).toString('hex')}`;
