import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeFailure } from '../../../functions/stages/ci-evidence';
import { errorOf } from '../../../functions/stages/finalize';
import { branchName, diffHash } from '../../../functions/stages/publish';
import { truncate } from '../../../functions/stages/tools';

describe('truncate', () => {
  it('keeps short text and marks cut text with the amount cut', () => {
    expect(truncate('abc', 10)).toBe('abc');
    const cut = truncate('x'.repeat(25), 10);
    expect(cut.startsWith('x'.repeat(10))).toBe(true);
    expect(cut).toContain('truncated 15 characters');
  });
});

describe('summarizeFailure', () => {
  const failing = (detail: string, name = 'test') => ({
    state: 'failure' as const,
    runs: [{ name, status: 'completed', conclusion: 'failure', summary: 'npm test', text: detail }],
  });
  // Real CI logs (test/fixtures/ci-logs/README.md).
  const ciLog = (file: string) =>
    readFileSync(new URL(`../../fixtures/ci-logs/${file}`, import.meta.url), 'utf8');

  it('lists the extracted failures as the root cause and fingerprints the same failure alike across runs', () => {
    const first = summarizeFailure(
      failing('ok 1 - a\nnot ok 2 - slugify\n  AssertionError: expected "a-b" (12ms)'),
    );
    const again = summarizeFailure(
      failing('ok 1 - a\nnot ok 2 - slugify\n  AssertionError: expected "a-b" (48ms)'),
    );
    const other = summarizeFailure(failing('not ok 3 - capitalize\n  TypeError: cannot read x'));
    expect(first.rootCause).toBe(
      '1 failure extracted from the CI log:\n1. [tap] slugify\n   AssertionError: expected "a-b" (12ms)',
    );
    expect(first.signature).toBe(again.signature);
    expect(first.signature).not.toBe(other.signature);
  });

  it('knows a test that failed twice with other timestamps and temp paths in the log for the same failure', () => {
    for (const runner of ['jest', 'pytest', 'go']) {
      const first = summarizeFailure(failing(ciLog(`${runner}-b.log`)));
      const again = summarizeFailure(failing(ciLog(`${runner}-b-rerun.log`), 'test (rerun)'));
      const other = summarizeFailure(failing(ciLog(`${runner}-a.log`)));
      expect(first.signature).toBe(again.signature);
      expect(first.signature).not.toBe(other.signature);
    }
  });

  it('gives the failures first and then the bounded tail of the log', () => {
    const failure = summarizeFailure(failing(ciLog('pytest-b.log')));
    expect(failure.rootCause).toMatch(
      /^1 failure extracted from the CI log:\n1\. \[pytest\] test_slug\.py::test_read_config_reads_config_json \(slug\.py:14\)\n {3}FileNotFoundError: \[Errno 2\] No such file or directory: '\/tmp\/pytest-of-root\//,
    );
    expect(failure.log).toMatch(
      /^Log tail \(last \d+ lines\):\n## test: failure\nRun \/usr\/bin\/python3 -m pytest/,
    );
    expect(failure.log).toContain('1 failed, 2 passed');
    expect(failure.log).not.toMatch(/##\[|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z/);
    const huge = summarizeFailure(failing(`${'noise line\n'.repeat(100_000)}${ciLog('jest-a.log')}`));
    expect(huge.rootCause.length).toBeLessThanOrEqual(4000);
    expect(huge.log.length).toBeLessThanOrEqual(8000);
    expect(huge.rootCause).toContain('slug › slugify joins words with dashes');
  });

  it('falls back to the failed checks and their error lines when nothing is extracted', () => {
    const generic = ciLog('generic-script-a.log');
    const first = summarizeFailure(failing(generic));
    expect(first.rootCause).toContain(
      "FileNotFoundError: [Errno 2] No such file or directory: 'deploy.json'",
    );
    expect(summarizeFailure(failing(generic.replaceAll('line 11', 'line 12'))).signature).toBe(
      first.signature,
    );
    expect(summarizeFailure(failing(generic, 'lint')).signature).not.toBe(first.signature);
    expect(summarizeFailure(failing('')).rootCause).toBe('## test: failure');
    expect(summarizeFailure({ state: 'failure', runs: [] }).rootCause).toBe('checks failed');
  });
});

describe('publish helpers', () => {
  it('derives a safe branch name from the issue', () => {
    expect(branchName({ issueNumber: 1, issueTitle: 'Add a slugify helper!', runId: 'R' })).toBe(
      'factory/1-add-a-slugify-helper',
    );
    expect(branchName({ issueNumber: 2, issueTitle: '$$$', runId: 'R' })).toBe('factory/2-change');
  });

  it('hashes a change independently of file order, and differently when content changes', () => {
    const a = { path: 'a', content: '1', deleted: false, updatedAt: '' };
    const b = { path: 'b', deleted: true, updatedAt: '' };
    expect(diffHash([a, b])).toBe(diffHash([b, a]));
    expect(diffHash([a, b])).not.toBe(diffHash([{ ...a, content: '2' }, b]));
  });
});

describe('errorOf', () => {
  it('unwraps Lambda error causes and tolerates missing errors', () => {
    expect(
      errorOf({ Error: 'BudgetExceeded', Cause: '{"errorMessage":"no money","errorType":"X"}' }),
    ).toEqual({
      class: 'BudgetExceeded',
      cause: 'no money',
    });
    expect(errorOf({ Error: 'States.Timeout', Cause: 'plain' })).toEqual({
      class: 'States.Timeout',
      cause: 'plain',
    });
    expect(errorOf(null)).toBeUndefined();
  });
});
