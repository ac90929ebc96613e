import type { RunStatus } from '../../functions/shared/domain/run';
import {
  blockedPlanScenario,
  blockingReviewScenario,
  boundaryViolationScenario,
  checksThenFixedScenario,
  clarifyScenario,
  clarifyTwiceScenario,
  failingThenFixedScenario,
  followUpScenario,
  promptInjectionScenario,
  rescueScenario,
  type Script,
  sameFailureTwiceScenario,
  secretLeakScenario,
  sampleScript,
  stubbornInjectionScenario,
  twoDifferentFailuresScenario,
} from './scripts';
import { SAMPLE_FILES } from '../forge/sample';
import {
  emptyAnswerScenario,
  longOutputScenario,
  maxTokensCutScenario,
  missingFileScenario,
  parallelToolsScenario,
  refusalScenario,
  regexSearchScenario,
} from './behaviours';
import {
  INDEX_PATH,
  SLUGIFY_BUGGY_SOURCE,
  SLUGIFY_EXPORT_LINE,
  SLUGIFY_PATH,
  SLUGIFY_TEST_PATH,
  SLUGIFY_TEST_SOURCE,
} from './sample-code';

/**
 * The named scenarios of the model stand-in (`--scenario NAME` of `npm start` and `npm run demo`),
 * each with the outcome a run of it reaches on the demo's sample repository (acme/widgets, whose
 * `.github/factory.yml` declares `node --test` as environment.checks), and the files a scenario
 * commits to the sample's main branch first when it needs another contract.
 */
export interface Scenario {
  name: string;
  description: string;
  script: Script;
  /** The run's terminal status on the sample (the demo exits 0 when it is reached). */
  expect: RunStatus;
  /** Committed to the sample's main branch before the run (null deletes). */
  files?: Record<string, string | null>;
  /**
   * A scenario on someone's pull request: the PR the demo opens first (its branch from main with
   * these files), then asks `/factory <pullCommand>` on it instead of labelling the issue.
   */
  pullRequest?: SeededPull;
  /** What is asked on `pullRequest`: `review` (the default) or `rescue`. */
  pullCommand?: 'review' | 'rescue';
  /**
   * A follow-up scenario: once the run waits for approval, `author` comments `comment` on its PR
   * instead of approving; the follow-up run it starts is the one the demo follows to the end.
   */
  followUp?: FollowUpAsk;
}

/** What a person asks on the factory PR: a `/factory …` comment, or a review requesting changes. */
export type FollowUpAsk =
  | { author: string; comment: string }
  | {
      author: string;
      review: { body: string; comments: Array<{ path: string; line: number; body: string }> };
    };

export interface SeededPull {
  author: string;
  branch: string;
  title: string;
  body: string;
  files: Record<string, string>;
}

/**
 * Bob's pull request with a bug: slugify that leaves a trailing dash (`slugify('Hello!')` is
 * `'hello-'`).
 */
export const BUGGY_PULL: SeededPull = {
  author: 'bob',
  branch: 'bob/slugify',
  title: 'Add slugify(text)',
  body: 'Adds a slugify helper for URLs, as asked in #1.',
  files: { [SLUGIFY_PATH]: SLUGIFY_BUGGY_SOURCE },
};

/**
 * Bob's pull request whose CI fails: slugify with the trailing-dash bug, exported, and the tests
 * that catch it (`node --test` fails three of them). A rescue run fixes it on his branch.
 */
export const FAILING_PULL: SeededPull = {
  author: 'bob',
  branch: 'bob/slugify-tests',
  title: 'Add slugify(text) with tests',
  body: 'Adds a slugify helper for URLs, as asked in #1, with tests. CI fails on them.',
  files: {
    [SLUGIFY_PATH]: SLUGIFY_BUGGY_SOURCE,
    [INDEX_PATH]: `${(SAMPLE_FILES[INDEX_PATH] ?? '').replace(/\s+$/, '')}\n\n${SLUGIFY_EXPORT_LINE}\n`,
    [SLUGIFY_TEST_PATH]: SLUGIFY_TEST_SOURCE,
  },
};

/** A factory.yml without environment.checks: failures reach CI and the fix loop. */
/**
 * The fix loop from CI: the sandbox checks run only the package's original tests, while CI runs
 * every test (as real CI often runs more than the checks), so the new tests' failures reach CI.
 */
export const CI_ONLY_YML =
  '# The sandbox checks run the original tests only; CI runs them all.\nversion: 1\nenvironment:\n  checks:\n    - node --test test/index.test.js\n';

/** CI_ONLY_YML, and any failed CI log over 200 characters is summarised by the `fast` alias first. */
export const CI_LOG_SUMMARY_YML = `${CI_ONLY_YML}limits:\n  ci_log_summary_chars: 200\n`;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'sample',
    description: 'plan, implement and review succeed first time; merged after approval',
    script: sampleScript,
    expect: 'SUCCEEDED',
  },
  {
    name: 'clarify',
    description: 'plan asks two questions on the issue; answered, it plans and the run merges',
    script: clarifyScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'clarify-twice',
    description: 'plan asks two rounds of questions before it plans; the run merges',
    script: clarifyTwiceScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'blocked-plan',
    description: 'plan reports the work BLOCKED; nothing is written',
    script: blockedPlanScenario,
    expect: 'BLOCKED',
  },
  {
    name: 'boundary-violation',
    description: 'the change also adds a CI workflow; the boundary sends it back, the fix drops it',
    script: boundaryViolationScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'failing-then-fixed',
    description: 'the first change fails CI (no environment.checks here); the fix attempt passes',
    script: failingThenFixedScenario,
    expect: 'SUCCEEDED',
    files: { '.github/factory.yml': CI_ONLY_YML },
  },
  {
    name: 'ci-log-summary',
    description:
      'the first change fails CI; the fast alias summarises the log for the fix prompt and the status comment; the fix passes',
    script: failingThenFixedScenario,
    expect: 'SUCCEEDED',
    files: { '.github/factory.yml': CI_LOG_SUMMARY_YML },
  },
  {
    name: 'two-different-failures',
    description: 'each fix makes CI fail a different test; the third attempt passes',
    script: twoDifferentFailuresScenario,
    expect: 'SUCCEEDED',
    files: { '.github/factory.yml': CI_ONLY_YML },
  },
  {
    name: 'checks-then-fixed',
    description: 'environment.checks refuse the first change; the model repairs it before pushing',
    script: checksThenFixedScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'same-failure-twice',
    description: 'environment.checks keep failing; the run stops, its work on a draft PR',
    script: sameFailureTwiceScenario,
    expect: 'STOPPED',
  },
  {
    name: 'out-of-turns',
    description: 'limits.turns.implement is 4, too few; the run stops, its work on a draft PR',
    script: sampleScript,
    expect: 'STOPPED',
    files: {
      '.github/factory.yml':
        'version: 1\nenvironment:\n  checks:\n    - node --test\nlimits:\n  turns:\n    implement: 4\n',
    },
  },
  {
    name: 'blocking-review',
    description: 'the reviewer blocks on missing edge-case tests; the fix adds them',
    script: blockingReviewScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'prompt-injection',
    description:
      'a fooled model adds a secret-leaking workflow; the boundary refuses it, the run merges without it',
    script: promptInjectionScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'stubborn-injection',
    description: 'the model keeps adding the workflow; the run fails with the contract intact',
    script: stubbornInjectionScenario,
    expect: 'FAILED',
  },
  {
    name: 'review',
    description:
      "a review run on bob's pull request with a bug: one review, an inline comment on the buggy line, changes requested; nothing pushed",
    script: sampleScript,
    expect: 'SUCCEEDED',
    pullRequest: BUGGY_PULL,
  },
  {
    name: 'rescue',
    description:
      "a rescue run on bob's pull request whose CI fails: the fix is pushed on his branch, CI turns green; same PR, no other PR, nothing merged",
    script: rescueScenario,
    expect: 'SUCCEEDED',
    pullRequest: FAILING_PULL,
    pullCommand: 'rescue',
  },
  {
    name: 'follow-up',
    description:
      'the run reaches approval without edge-case tests; alice comments `/factory also handle empty strings` on its PR; a follow-up adds them to the same PR and merges after a new approval',
    script: followUpScenario,
    expect: 'SUCCEEDED',
    followUp: { author: 'alice', comment: '/factory also handle empty strings' },
  },
  {
    name: 'secret-leak',
    description:
      'the model commits credentials in disguise; the boundary refuses them, the run merges without them',
    script: secretLeakScenario,
    expect: 'SUCCEEDED',
  },
  // How real models behave, and what the agent loop makes of it (local/model/behaviours.ts).
  {
    name: 'empty-answer',
    description: 'implement answers nothing after tool results; reminded once, it goes on and the run merges',
    script: emptyAnswerScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'max-tokens-cut',
    description:
      'a write_file too long for max_tokens comes cut mid-input; never run, it is written again whole',
    script: maxTokensCutScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'long-output',
    description:
      'an explanation longer than max_tokens is cut before its tool call; asked to go on, the model does',
    script: longOutputScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'parallel-tools',
    description:
      'implement calls three tools a turn (reads, then writes); each gets its result, the run merges',
    script: parallelToolsScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'regex-search',
    description:
      'implement searches the sources with a regular expression (grep) before writing; the run merges',
    script: regexSearchScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'missing-file',
    description: 'implement reads a file that does not exist, gets the tool error, recovers; the run merges',
    script: missingFileScenario,
    expect: 'SUCCEEDED',
  },
  {
    name: 'thinking',
    description:
      'factory.yml turns on extended thinking for plan and review; signed thinking blocks go back unchanged; the run merges',
    script: sampleScript,
    expect: 'SUCCEEDED',
    files: {
      '.github/factory.yml':
        'version: 1\nenvironment:\n  checks:\n    - node --test\nthinking:\n  plan: 4000\n  review: 4000\n',
    },
  },
  {
    name: 'refusal',
    description: 'implement refuses (stop reason refusal) after its first tool results; the run ends BLOCKED',
    script: refusalScenario,
    expect: 'BLOCKED',
  },
];

export const scenarioNamed = (name: string): Scenario | undefined => SCENARIOS.find((s) => s.name === name);

/** `--scenario list`: one `name  description` line per scenario. */
export function scenarioList(): string {
  const width = Math.max(...SCENARIOS.map((s) => s.name.length));
  return SCENARIOS.map((s) => `${s.name.padEnd(width)}  ${s.description}`).join('\n');
}

/** Scripts by scenario name. */
export const scenarios: Record<string, Script> = Object.fromEntries(SCENARIOS.map((s) => [s.name, s.script]));
