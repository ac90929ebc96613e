import { type RunKind, workItemKeyOf } from '../shared/domain/run';
import { type CommandName, MAX_INSTRUCTION_CHARS, parseCommand } from './commands';

/**
 * What a verified GitHub delivery asks of the factory, decided from the payload alone (no I/O).
 * Permission, bot and concurrency rules are applied by the handler, which has the ports.
 */
export interface Sender {
  login: string;
  /** GitHub's account type: 'User', 'Bot', 'Organization'. */
  type: string;
}

interface IssueTarget {
  repo: string;
  issueNumber: number;
  /** `owner/repo#n`: the WorkItem key. */
  workItemKey: string;
  isPull: boolean;
  title?: string;
  sender: Sender;
}

export type Intent =
  | { type: 'ping' }
  | { type: 'ignore'; reason: string }
  | (IssueTarget & { type: 'labeled'; label: string })
  | (IssueTarget & { type: 'command'; command: CommandName; commentId: number })
  | (IssueTarget & { type: 'unknown-command'; word: string; text: string; commentId: number })
  | (IssueTarget & { type: 'changes-requested'; reviewId: number; body: string; headRef: string })
  | (IssueTarget & { type: 'reply'; commentId: number; issueAuthor: string })
  | { type: 'checks-completed'; repo: string; sha: string; conclusion: string; sender: Sender }
  | { type: 'head-moved'; repo: string; prNumber: number; issueNumber: number; sha: string; sender: Sender };

/** Which run a start command makes. `retry` is a new `change` run. */
export const KIND_OF_COMMAND: Record<'run' | 'retry' | 'review' | 'rescue', RunKind> = {
  run: 'change',
  retry: 'change',
  review: 'review',
  rescue: 'rescue',
};

/** The label that starts a run unless the repo's contract names another one. */
export const DEFAULT_TRIGGER_LABEL = 'factory';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null;
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;

function senderOf(payload: Json): Sender | undefined {
  const sender = payload.sender;
  if (!isObject(sender)) return undefined;
  const login = str(sender.login);
  if (!login) return undefined;
  return { login, type: str(sender.type) ?? 'User' };
}

function issueTargetOf(payload: Json): IssueTarget | undefined {
  const repository = payload.repository;
  const issue = payload.issue;
  const sender = senderOf(payload);
  if (!isObject(repository) || !isObject(issue) || !sender) return undefined;
  const repo = str(repository.full_name);
  const issueNumber = num(issue.number);
  if (!repo || issueNumber === undefined || issueNumber <= 0) return undefined;
  const title = str(issue.title);
  return {
    repo,
    issueNumber,
    workItemKey: workItemKeyOf(repo, issueNumber),
    isPull: isObject(issue.pull_request),
    ...(title === undefined ? {} : { title: title.slice(0, 1000) }),
    sender,
  };
}

export function classify(eventName: string, payload: unknown): Intent {
  if (eventName === 'ping') return { type: 'ping' };
  if (!isObject(payload)) return { type: 'ignore', reason: 'payload is not an object' };
  const action = str(payload.action);

  switch (eventName) {
    case 'issues': {
      if (action !== 'labeled') return { type: 'ignore', reason: `issues.${action ?? '?'}` };
      const target = issueTargetOf(payload);
      const label = isObject(payload.label) ? str(payload.label.name) : undefined;
      if (!target || !label) return { type: 'ignore', reason: 'issues.labeled without issue or label' };
      return { ...target, type: 'labeled', label };
    }
    case 'issue_comment': {
      // Edits and deletions never steer: a command is what was posted.
      if (action !== 'created') return { type: 'ignore', reason: `issue_comment.${action ?? '?'}` };
      const target = issueTargetOf(payload);
      const comment = payload.comment;
      if (!target || !isObject(comment)) return { type: 'ignore', reason: 'issue_comment without issue' };
      const commentId = num(comment.id);
      if (commentId === undefined) return { type: 'ignore', reason: 'issue_comment without id' };
      const parsed = parseCommand(str(comment.body));
      // `run` is not a pull request command: on a PR, the whole text is a follow-up instruction.
      if (parsed?.kind === 'command' && parsed.name === 'run' && target.isPull) {
        const text = `run ${parsed.args}`.trim();
        return { ...target, type: 'unknown-command', word: 'run', text, commentId };
      }
      if (parsed?.kind === 'command') return { ...target, type: 'command', command: parsed.name, commentId };
      if (parsed?.kind === 'unknown')
        return { ...target, type: 'unknown-command', word: parsed.word, text: parsed.text, commentId };
      const issue = payload.issue as Json;
      const issueAuthor = isObject(issue.user) ? (str(issue.user.login) ?? '') : '';
      return { ...target, type: 'reply', commentId, issueAuthor };
    }
    case 'check_suite':
    case 'workflow_run': {
      if (action !== 'completed') return { type: 'ignore', reason: `${eventName}.${action ?? '?'}` };
      const subject = payload[eventName];
      const repository = payload.repository;
      const sender = senderOf(payload) ?? { login: 'github', type: 'Bot' };
      if (!isObject(subject) || !isObject(repository))
        return { type: 'ignore', reason: `${eventName} malformed` };
      const repo = str(repository.full_name);
      const sha = str(subject.head_sha);
      if (!repo || !sha) return { type: 'ignore', reason: `${eventName} without repo or sha` };
      return {
        type: 'checks-completed',
        repo,
        sha,
        conclusion: str(subject.conclusion) ?? 'unknown',
        sender,
      };
    }
    case 'pull_request_review': {
      // A review requesting changes on a factory PR starts a follow-up (follow-up.ts decides).
      if (action !== 'submitted') return { type: 'ignore', reason: `pull_request_review.${action ?? '?'}` };
      const review = payload.review;
      const pull = payload.pull_request;
      const repository = payload.repository;
      const sender = senderOf(payload);
      if (!isObject(review) || !isObject(pull) || !isObject(repository) || !isObject(pull.head) || !sender)
        return { type: 'ignore', reason: 'pull_request_review malformed' };
      if (str(review.state)?.toLowerCase() !== 'changes_requested')
        return { type: 'ignore', reason: `pull_request_review.${str(review.state) ?? '?'}` };
      const repo = str(repository.full_name);
      const prNumber = num(pull.number);
      const reviewId = num(review.id);
      if (!repo || prNumber === undefined || prNumber <= 0 || reviewId === undefined || reviewId <= 0)
        return { type: 'ignore', reason: 'pull_request_review without repo, number or id' };
      const title = str(pull.title);
      return {
        type: 'changes-requested',
        repo,
        issueNumber: prNumber,
        workItemKey: workItemKeyOf(repo, prNumber),
        isPull: true,
        ...(title === undefined ? {} : { title: title.slice(0, 1000) }),
        sender,
        reviewId,
        body: (str(review.body) ?? '').slice(0, MAX_INSTRUCTION_CHARS),
        headRef: str(pull.head.ref) ?? '',
      };
    }
    case 'pull_request': {
      // New commits on a factory PR: an approval asked for the old head no longer applies.
      if (action !== 'synchronize') return { type: 'ignore', reason: `pull_request.${action ?? '?'}` };
      const pull = payload.pull_request;
      const repository = payload.repository;
      if (!isObject(pull) || !isObject(repository) || !isObject(pull.head))
        return { type: 'ignore', reason: 'pull_request malformed' };
      const repo = str(repository.full_name);
      const sha = str(pull.head.sha);
      const prNumber = typeof pull.number === 'number' ? pull.number : undefined;
      const issueNumber = Number(/^factory\/(\d{1,9})-/.exec(str(pull.head.ref) ?? '')?.[1] ?? Number.NaN);
      if (!repo || !sha || prNumber === undefined || !Number.isSafeInteger(issueNumber))
        return { type: 'ignore', reason: 'pull_request.synchronize not on a factory branch' };
      const sender = senderOf(payload) ?? { login: 'unknown', type: 'User' };
      return { type: 'head-moved', repo, prNumber, issueNumber, sha, sender };
    }
    default:
      return { type: 'ignore', reason: `event ${eventName}${action ? `.${action}` : ''} not handled` };
  }
}

/** Bots and the factory itself never start or steer runs. */
export function isBotSender(sender: Sender, factoryLogin: string): boolean {
  const login = sender.login.toLowerCase();
  return (
    sender.type === 'Bot' ||
    login.endsWith('[bot]') ||
    login === factoryLogin.toLowerCase() ||
    login === factoryLogin.toLowerCase().replace(/\[bot\]$/, '')
  );
}
