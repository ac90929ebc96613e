import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { annotationsOf } from '../../../local/forge/annotations';

/** A recorded Actions log (test/fixtures/ci-logs) back to the raw output the runner printed. */
function rawOutput(file: string): { output: string; workdir: string } {
  const log = readFileSync(new URL(`../../fixtures/ci-logs/${file}`, import.meta.url), 'utf8');
  const output = log
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ''))
    .filter((line) => !line.startsWith('##['))
    .join('\n');
  const workdir = /\/tmp\/ci-projects\/node\.[A-Za-z0-9]+/.exec(output)?.[0] ?? '/nowhere';
  return { output, workdir };
}

const EXIT = {
  path: '.github',
  startLine: 1,
  endLine: 1,
  level: 'failure',
  title: '',
  message: 'Process completed with exit code 1.',
};

describe("the forge CI's annotations", () => {
  it("puts a failing node:test test (TAP) at its failed assertion's line, plus Actions' exit annotation", () => {
    const { output, workdir } = rawOutput('node-tap-a.log');
    expect(annotationsOf(output, workdir, 1)).toEqual([
      {
        path: 'test/slug.test.js',
        startLine: 13,
        endLine: 13,
        level: 'failure',
        title: 'slugify joins words with dashes',
        message: expect.stringContaining("+ 'hello world'\n- 'hello-world'"),
      },
      EXIT,
    ]);
  });

  it('reads the spec reporter once, not again under "failing tests"', () => {
    const { output, workdir } = rawOutput('node-spec-a.log');
    const annotations = annotationsOf(output, workdir, 1);
    expect(annotations).toHaveLength(2);
    expect(annotations[0]).toMatchObject({
      path: 'test/slug.test.js',
      startLine: 13,
      title: 'slugify joins words with dashes',
    });
    expect(annotations[0]?.message).toMatch(
      /^AssertionError \[ERR_ASSERTION\]: Expected values to be strictly equal/,
    );
  });

  it('turns workflow commands into annotations and leaves a passing step without one', () => {
    const output = [
      '::error file=src/a%2Cb.js,line=3,endLine=4,title=Type error::Type %27x%27 is wrong%0Asecond line',
      '::warning file=README.md,line=1::Long line',
      '::notice::Deployed',
      'plain output',
    ].join('\n');
    expect(annotationsOf(output, '/w', 0)).toEqual([
      {
        path: 'src/a,b.js',
        startLine: 3,
        endLine: 4,
        level: 'failure',
        title: 'Type error',
        message: 'Type %27x%27 is wrong\nsecond line',
      },
      { path: 'README.md', startLine: 1, endLine: 1, level: 'warning', title: '', message: 'Long line' },
      { path: '.github', startLine: 1, endLine: 1, level: 'notice', title: '', message: 'Deployed' },
    ]);
  });

  it('keeps at most ten failures per step, as Actions does', () => {
    const output = Array.from({ length: 15 }, (_, i) => `::error file=a.js,line=${i + 1}::e${i}`).join('\n');
    const annotations = annotationsOf(output, '/w', 2);
    expect(annotations).toHaveLength(11);
    expect(annotations.at(-1)?.message).toBe('Process completed with exit code 2.');
  });
});
