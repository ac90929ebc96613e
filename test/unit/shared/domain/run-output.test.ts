import { describe, expect, it } from 'vitest';
import {
  FAILURE_LINES_CHARS,
  formatRunResult,
  RUN_HEAD_CHARS,
  RUN_TAIL_CHARS,
  runLimitSeconds,
} from '../../../../functions/shared/domain/run-output';
import { OutputCapture } from '../../../../functions/sandbox/capture';

const captured = (chunks: Array<string | Buffer>) => {
  const capture = new OutputCapture(RUN_HEAD_CHARS, RUN_TAIL_CHARS);
  for (const chunk of chunks) capture.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return capture.result();
};

describe('the run tool output', () => {
  it('answers the exit code then the whole output when it is short', () => {
    const result = { exitCode: 2, timedOut: false, ...captured(['a\n', 'b\n']) };
    expect(formatRunResult(result, 120)).toBe('exit_code: 2\na\nb\n');
    expect(formatRunResult({ ...result, ...captured([]) }, 120)).toBe('exit_code: 2\n(no output)');
  });

  it('says a timeout with its limit', () => {
    const result = { exitCode: 124, timedOut: true, ...captured(['partial\n']) };
    expect(formatRunResult(result, 5)).toBe('exit_code: 124 (timed out after 5 s)\npartial\n');
  });

  it('keeps exactly the first 2,000 and last 8,000 characters, with a marker, in bounded memory', () => {
    const chunks = Array.from(
      { length: 1_000 },
      (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(95)}\n`,
    );
    const output = chunks.join('');
    const result = captured(chunks);
    expect(result.head).toBe(output.slice(0, 2_000));
    expect(result.tail).toBe(output.slice(-8_000));
    expect(result.omittedChars).toBe(output.length - 10_000);
    const text = formatRunResult({ exitCode: 0, timedOut: false, ...result }, 120);
    expect(text).toContain(`\n[… ${output.length - 10_000} characters of output omitted`);
    expect(text.endsWith(output.slice(-100))).toBe(true);
  });

  it('keeps output of exactly 10,000 characters whole', () => {
    const result = captured(['y'.repeat(10_000)]);
    expect(result.omittedChars).toBe(0);
    expect(result.head + result.tail).toBe('y'.repeat(10_000));
  });

  it('does not break a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('é€');
    expect(captured([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)]).head).toBe('é€');
  });

  it('limits a command to the requested seconds, 120 by default, within the maximum', () => {
    expect(runLimitSeconds(undefined)).toBe(120);
    expect(runLimitSeconds(30)).toBe(30);
    expect(runLimitSeconds(0)).toBe(1);
    expect(runLimitSeconds(10_000)).toBe(600);
    expect(runLimitSeconds(300, 200)).toBe(200);
  });

  it('shows the omitted part’s failure lines: a long test run’s failing tests between its two ends', () => {
    // node --test's TAP on a 1,373-test suite: the two failures scroll out of both ends.
    const ok = (i: number) =>
      `    # Subtest: case ${i}\n    ok ${i} - case ${i}\n      ---\n      duration_ms: 0.5\n      ...\n`;
    const chunks = [
      ...Array.from({ length: 300 }, (_, i) => ok(i)),
      '    not ok 301 - when --hepl then sugg',
      'ests --help\n      error: |-\n        Expected values to be strictly equal:\n',
      ...Array.from({ length: 300 }, (_, i) => ok(i + 302)),
      '--- FAIL: TestArg (0.00s)\r\n',
      ...Array.from({ length: 300 }, (_, i) => ok(i + 603)),
      '# tests 904\n# pass 902\n# fail 2\n',
    ];
    const result = captured(chunks);
    expect(result.omittedFailures).toBe(
      '    not ok 301 - when --hepl then suggests --help\n--- FAIL: TestArg (0.00s)',
    );
    const text = formatRunResult({ exitCode: 1, timedOut: false, ...result }, 120);
    expect(text).toContain(
      'characters of output omitted; showing the first 2000 and the last 8000 …]\n' +
        '[lines of the omitted part that look like failures:]\n' +
        '    not ok 301 - when --hepl then suggests --help\n--- FAIL: TestArg (0.00s)\n' +
        '[… end of those lines; the last 8000 characters follow …]\n',
    );
    expect(text.endsWith('# fail 2\n')).toBe(true);
  });

  it('repeats no failure line already shown in the head or the tail, and keeps a bounded number', () => {
    const filler = `${'x'.repeat(99)}\n`.repeat(200);
    const shown = captured(['not ok 1 - at the start\n', filler, 'not ok 2 - at the end\n']);
    expect(shown.omittedChars).toBeGreaterThan(0);
    expect(shown.omittedFailures).toBeUndefined();
    expect(captured(['not ok 1 - short output\n']).omittedFailures).toBeUndefined();
    const many = captured([
      filler,
      ...Array.from({ length: 500 }, (_, i) => `not ok ${i} - ${'y'.repeat(400)}\n`),
      filler,
    ]);
    expect(many.omittedFailures?.length).toBeLessThanOrEqual(FAILURE_LINES_CHARS + 302);
    expect(many.omittedFailures?.split('\n')[0]).toBe(`not ok 0 - ${'y'.repeat(289)}…`);
  });
});
