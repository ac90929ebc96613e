import type { FileChange, ViolationRule } from '../shared/domain/boundary';
import type { Run } from '../shared/domain/run';
import { fenced } from '../shared/run-cleanup';

/**
 * The "where I stopped / what is left" note of a run that stops with its work kept (keep-work.ts),
 * the body of its draft PR. Written from the run's record alone, without a model call: the reason,
 * the stage and its turns, the cost, the plan, the diff stat, the files left out, the last failure.
 */

/** Where keep-work keeps the note (workspaces bucket), for a retry that resumes the run. */
export const stopNoteKeyOf = (runId: string): string => `notes/${runId}/stop-note.md`;

export interface LeftOutFile {
  /** Absent for a path unsafe to show (control characters, traversal). */
  path?: string;
  rules: ViolationRule[];
}

/** Why a file was left out, by boundary rule (the messages would repeat the path unquoted). */
const RULE_TEXT: Record<ViolationRule, string> = {
  'invalid-path': 'an unsafe path',
  'factory-config': 'the factory config, always forbidden',
  'forbidden-path': 'a forbidden path',
  'ci-path': 'a CI/infrastructure path, forbidden unless the config opts in',
  'not-allowed-path': 'not under allowed_paths',
  'dependency-manifest': 'a dependency manifest, and the contract forbids changing dependencies',
  secret: 'an added line looks like a secret',
  'too-many-files': 'over max_files_changed',
  'too-many-lines': 'over max_lines_changed',
  'invalid-change': 'not a valid change',
  'lookalike-path': 'a look-alike of a protected path',
  'file-too-large': 'over max_file_bytes',
  'too-many-bytes': 'over max_change_bytes',
};

export interface StopNoteInput {
  run: Run;
  /** The stage the run stopped in, and its turns used of its limit. */
  stage: string;
  turns?: { used: number; limit: number };
  budgetUsd: number;
  maxFixAttempts: number;
  /** What the draft holds. */
  kept: readonly FileChange[];
  leftOut: readonly LeftOutFile[];
}

const MAX_NOTE_CHARS = 60_000;
const MAX_FAILURE_CHARS = 6000;

/** `git diff --stat`-like lines: path, lines added and removed, new or deleted. */
export function diffStat(changes: readonly FileChange[]): string {
  const width = Math.min(60, Math.max(0, ...changes.map((c) => c.path.length)));
  const lines = changes.map((c) => {
    const status = c.status === 'modified' ? '' : ` (${c.status === 'added' ? 'new' : 'deleted'})`;
    return ` ${c.path.padEnd(width)} | +${c.addedLines.length} -${c.removedLineCount}${status}`;
  });
  const added = changes.reduce((n, c) => n + c.addedLines.length, 0);
  const removed = changes.reduce((n, c) => n + c.removedLineCount, 0);
  const files = `${changes.length} file${changes.length === 1 ? '' : 's'} changed`;
  return [...lines, ` ${files}, ${added} insertion(s)(+), ${removed} deletion(s)(-)`].join('\n');
}

/** A code span no backtick inside can close. */
const code = (text: string): string => {
  const ticks = '`'.repeat(Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  return `${ticks} ${text} ${ticks}`;
};

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}\n[… cut]` : text);

export function stopNote(input: StopNoteInput): string {
  const { run, kept, leftOut } = input;
  const reason = run.error ?? { class: 'Stopped', cause: 'the run stopped before it finished' };
  const attempt =
    run.fixAttempts === 0 ? 'first attempt' : `fix attempt ${run.fixAttempts} of ${input.maxFixAttempts}`;
  const where = [
    `- **Why:** ${reason.class}${reason.cause && reason.cause !== reason.class ? ` (below)` : ''}`,
    `- **Stage:** ${input.stage}, ${attempt}`,
    ...(input.turns ? [`- **Turns:** ${input.turns.used} of ${input.turns.limit} in ${input.stage}`] : []),
    `- **Cost:** $${run.ledger.costUsd.toFixed(2)} of the run's $${input.budgetUsd.toFixed(2)} budget, ${run.ledger.llmCalls} model calls`,
  ];
  const touched = new Set(kept.map((c) => c.path));
  const untouched = (run.plan?.files ?? []).filter((f) => !touched.has(f));
  const left = [
    ...(reason.class === 'TurnsExhausted'
      ? [
          `Finish the change: the ${input.stage} stage ran out of turns before it was submitted, so it may be incomplete and untested (\`limits.turns.${input.stage}\` in .github/factory.yml sets the turns).`,
        ]
      : []),
    ...(reason.class === 'BudgetExceeded'
      ? [
          'Finish the change: the budget was spent before it was submitted, so it may be incomplete and untested (`budget_usd` in .github/factory.yml sets the budget).',
        ]
      : []),
    ...(reason.class === 'ChecksFailing'
      ? ['Make `environment.checks` pass: the last failure is above.']
      : []),
    ...(run.feedback
      ? [`Address the ${run.feedback.kind} feedback this attempt was fixing (the last failure).`]
      : []),
    ...(untouched.length ? [`Files in the plan not changed yet: ${untouched.map(code).join(', ')}.`] : []),
    ...(leftOut.length ? ['The files left out above are outside the contract: do it without them.'] : []),
    'Nothing here has been reviewed, approved or checked by CI as finished work.',
  ];
  const sections = [
    `**Code Factory stopped before finishing** (run \`${run.runId}\`, ${reason.class}). This draft keeps its work so far.`,
    ...(run.issueNumber ? [`Part of #${run.issueNumber}.`] : []),
    `### Where I stopped\n${where.join('\n')}`,
    ...(reason.cause && reason.cause !== reason.class ? [fenced(cut(reason.cause, MAX_FAILURE_CHARS))] : []),
    ...(run.planSummary ? [`### The plan\n${fenced(run.planSummary)}`] : []),
    `### The change\n${fenced(diffStat(kept))}`,
    ...(leftOut.length
      ? [
          `### Left out (outside the contract)\n${leftOut
            .map(
              (f) =>
                `- ${f.path ? code(f.path) : 'a path unsafe to show'}: ${f.rules.map((r) => RULE_TEXT[r]).join('; ')}`,
            )
            .join('\n')}`,
        ]
      : []),
    ...(run.feedback
      ? [`### The last failure (${run.feedback.kind})\n${fenced(cut(run.feedback.text, MAX_FAILURE_CHARS))}`]
      : []),
    `### What is left\n${left.map((l) => `- ${l}`).join('\n')}`,
    'To go on, push to this branch, or comment `/factory retry`: a new run resumes from this branch (with your pushes) and this note.',
  ];
  return cut(sections.join('\n\n'), MAX_NOTE_CHARS);
}
