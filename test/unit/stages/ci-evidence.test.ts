import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ciLogKeyOf, keepLogs, summarizeFailure } from '../../../functions/stages/ci-evidence';
import type { CheckSummary } from '../../../functions/shared/ports';
import { MemoryBlobs } from '../../support/memory-blobs';

const ciLog = (file: string) =>
  readFileSync(new URL(`../../fixtures/ci-logs/${file}`, import.meta.url), 'utf8');

const EXIT_ANNOTATION = {
  path: '.github',
  line: 1,
  level: 'failure',
  message: 'Process completed with exit code 1.',
};

describe('CI evidence', () => {
  it('reads an Actions job log first, and lists the failed check with its link and annotations', () => {
    const summary: CheckSummary = {
      state: 'failure',
      runs: [
        {
          name: 'test',
          id: 41,
          status: 'completed',
          conclusion: 'failure',
          url: 'https://github.com/acme/widgets/actions/runs/9/job/41',
          log: ciLog('node-tap-a.log'),
          annotations: [
            {
              path: 'test/slug.test.js',
              line: 6,
              level: 'failure',
              title: 'slugify joins words with dashes',
              message: "'hello world' !== 'hello-world'",
            },
            EXIT_ANNOTATION,
          ],
        },
        { name: 'build', id: 42, status: 'completed', conclusion: 'success' },
      ],
    };
    const evidence = summarizeFailure(summary);
    expect(evidence.rootCause).toMatch(
      /^1 failure extracted from the CI log:\n1\. \[tap\] slugify joins words/,
    );
    expect(evidence.checks).toBe(
      [
        '- test: failure (details: https://github.com/acme/widgets/actions/runs/9/job/41)',
        "  - test/slug.test.js:6 failure slugify joins words with dashes: 'hello world' !== 'hello-world'",
        '  - .github:1 failure: Process completed with exit code 1.',
      ].join('\n'),
    );
    expect(evidence.log).toMatch(/^Log tail/);
    // The log decides the signature, not the annotations shown next to it.
    const withoutAnnotations = summarizeFailure({
      ...summary,
      runs: summary.runs.map((r) => ({ ...r, annotations: [] })),
    });
    expect(withoutAnnotations.signature).toBe(evidence.signature);
  });

  it("takes failure annotations as the failures when no log names any (another app's check run)", () => {
    const run = (message: string) =>
      summarizeFailure({
        state: 'failure',
        runs: [
          {
            name: 'tests (buildkite)',
            id: 5,
            status: 'completed',
            conclusion: 'failure',
            title: 'Tests failed',
            summary: 'See the annotations.',
            annotations: [
              { path: 'spec/cart_spec.rb', line: 12, level: 'failure', title: 'Cart totals', message },
              EXIT_ANNOTATION,
              { path: 'spec/cart_spec.rb', line: 3, level: 'warning', message: 'slow test' },
            ],
          },
        ],
      });
    const first = run('expected 10, got 12');
    expect(first.rootCause).toContain('[annotation] Cart totals (spec/cart_spec.rb:12)');
    expect(first.rootCause).toContain('expected 10, got 12');
    expect(first.rootCause).not.toContain('Process completed');
    expect(first.checks).toContain('- tests (buildkite): failure — Tests failed');
    expect(run('expected 10, got 13').signature).toBe(first.signature);
    expect(run('TypeError: total is undefined').signature).not.toBe(first.signature);
  });

  it("gives a commit status's description and target URL", () => {
    const evidence = summarizeFailure({
      state: 'failure',
      runs: [
        {
          name: 'ci/jenkins',
          status: 'completed',
          conclusion: 'failure',
          summary: 'Tests failed: CartTest.testTotal',
          url: 'https://jenkins.example/job/widgets/12/',
        },
      ],
    });
    expect(evidence.checks).toBe(
      '- ci/jenkins: failure — Tests failed: CartTest.testTotal (details: https://jenkins.example/job/widgets/12/)',
    );
    expect(evidence.rootCause).toContain('CartTest.testTotal');
  });

  it('keeps each failed job log in the bucket under the run, by reference', async () => {
    const blobs = new MemoryBlobs();
    const log = ciLog('node-spec-b.log');
    const warnings: unknown[] = [];
    const log_ = { warn: (...args: unknown[]) => warnings.push(args) };
    const kept = await keepLogs({ blobs, log: log_ }, 'RUN1', 'abc123', {
      state: 'failure',
      runs: [
        { name: 'test (20.x)', id: 41, status: 'completed', conclusion: 'failure', log },
        { name: 'ci/jenkins', status: 'completed', conclusion: 'failure', summary: 'no log' },
        { name: 'lint', id: 43, status: 'completed', conclusion: 'success' },
      ],
    });
    expect(kept).toEqual([
      { check: 'test (20.x)', key: 'ci-logs/RUN1/abc123/test-20.x-41.log', chars: log.length },
    ]);
    expect(new TextDecoder().decode(blobs.objects.get(kept[0]?.key ?? ''))).toBe(log);
    expect(ciLogKeyOf('RUN1', 'abc', { name: '../../etc' })).toBe('ci-logs/RUN1/abc/..-..-etc.log');
    // A bucket that refuses the write loses the reference, not the run.
    const refusing = new MemoryBlobs();
    refusing.put = () => Promise.reject(new Error('SlowDown'));
    const none = await keepLogs({ blobs: refusing, log: log_ }, 'RUN1', 'abc123', {
      state: 'failure',
      runs: [{ name: 'test', id: 1, status: 'completed', conclusion: 'failure', log }],
    });
    expect(none).toEqual([]);
    expect(warnings).toHaveLength(1);
  });
});
