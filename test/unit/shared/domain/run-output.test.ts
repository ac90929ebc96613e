import { describe, expect, it } from 'vitest';
import {
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
});
