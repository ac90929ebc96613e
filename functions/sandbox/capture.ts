import { StringDecoder } from 'node:string_decoder';
import { FAILURE_LINES_CHARS } from '../shared/domain/run-output';

/**
 * Lines that name a failure in the common test runners' output: TAP's `not ok` (node --test,
 * tap), pytest's `FAILED`/`ERROR` summary and `E   ` assertion lines, Go's `--- FAIL`, cargo's
 * `panicked at`, rustc's `error[E…]:`, jest/vitest's `FAIL`/`✕`/`×`, node's `✖`, and `…Error: ` lines
 * (not TAP's YAML `error: |-`, whose message follows on the next lines).
 */
export const FAILURE_LINE =
  /^\s*(?:not ok\b|FAILED\b|FAIL\b|ERROR\b|--- FAIL\b|E {3}|[✖✕×✗]\s|error(?:\[E\d+\])?: (?![|>]))|panicked at |\b\w*Error: |\bFAILED\b/;

/** A failure line longer than this is cut. */
const FAILURE_LINE_MAX = 300;
/** A line that goes on for longer than this is not scanned further. */
const SCAN_LINE_MAX = 4_096;

/**
 * A command's output, bounded in memory: the first `headChars` characters and the last
 * `tailChars`, whatever the command prints. The tail buffer is trimmed whenever it grows past
 * twice its size, so memory stays O(head + tail) for any amount of output. Lines that look like
 * failures (FAILURE_LINE) are noted as they pass, up to FAILURE_LINES_CHARS, and those that end up
 * in the omitted middle are returned as `omittedFailures`: a test run's `fail 2` summary at the
 * end is of little use when the two failing tests scrolled out of both ends.
 */
export class OutputCapture {
  private readonly decoder = new StringDecoder('utf8');
  private head = '';
  private tail = '';
  private total = 0;
  /** The current line's text so far (up to SCAN_LINE_MAX) and where it started. */
  private line = '';
  private lineStart = 0;
  private failures: Array<{ start: number; end: number; text: string }> = [];
  private failureChars = 0;

  constructor(
    private readonly headChars: number,
    private readonly tailChars: number,
  ) {}

  write(chunk: Buffer): void {
    this.add(this.decoder.write(chunk));
  }

  result(): { head: string; tail: string; omittedChars: number; omittedFailures?: string } {
    this.add(this.decoder.end());
    this.endLine(this.total);
    if (this.tail.length > this.tailChars) this.tail = this.tail.slice(-this.tailChars);
    const omittedChars = this.total - this.head.length - this.tail.length;
    const tailStart = this.total - this.tail.length;
    const omitted = this.failures
      .filter((failure) => failure.start >= this.head.length && failure.end <= tailStart)
      .map((failure) => failure.text);
    return {
      head: this.head,
      tail: this.tail,
      omittedChars,
      ...(omittedChars > 0 && omitted.length > 0 ? { omittedFailures: omitted.join('\n') } : {}),
    };
  }

  private add(text: string): void {
    if (text.length === 0) return;
    this.scan(text);
    this.total += text.length;
    let rest = text;
    if (this.head.length < this.headChars) {
      const room = this.headChars - this.head.length;
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest.length === 0) return;
    this.tail += rest.length > this.tailChars ? rest.slice(-this.tailChars) : rest;
    if (this.tail.length > 2 * this.tailChars) this.tail = this.tail.slice(-this.tailChars);
  }

  /** Splits `text` (which starts at offset `total`) into lines, noting the failure lines. */
  private scan(text: string): void {
    if (this.failureChars >= FAILURE_LINES_CHARS) return;
    let from = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', from)) {
      this.extend(text.slice(from, newline));
      this.endLine(this.total + newline);
      this.lineStart = this.total + newline + 1;
      from = newline + 1;
    }
    this.extend(text.slice(from));
  }

  private extend(part: string): void {
    if (this.line.length < SCAN_LINE_MAX) this.line += part.slice(0, SCAN_LINE_MAX - this.line.length);
  }

  /** The current line ends at offset `end` (exclusive of its newline). */
  private endLine(end: number): void {
    const line = this.line.replace(/\r$/, '');
    this.line = '';
    if (line.trim() === '' || !FAILURE_LINE.test(line) || this.failureChars >= FAILURE_LINES_CHARS) return;
    const text = line.length > FAILURE_LINE_MAX ? `${line.slice(0, FAILURE_LINE_MAX)}…` : line;
    this.failures.push({ start: this.lineStart, end, text });
    this.failureChars += text.length + 1;
  }
}
