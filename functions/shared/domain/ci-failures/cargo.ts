/**
 * cargo test: `---- name stdout ----` sections with the panic, in both layouts: up to Rust 1.72
 * `thread 'name' panicked at 'message', src/lib.rs:3:5`, and since 1.73 `thread 'name' [(id)]
 * panicked at src/lib.rs:3:5:` followed by the message lines; the `failures:` list when there are no
 * sections; and compiler errors (`error[E0308]: message` then ` --> file:line:col`).
 */
import { type Failure, MAX_FAILURES, MAX_SCAN, messageFrom } from './lines';

const SECTION = /^---- (.+) stdout ----$/;
const OLD_END = /^(.*)', (\S+:\d+:\d+)$/;
const COMPILER = /^error(?:\[(E\d+)\])?: (.+)$/;

function panicOf(body: readonly string[]): { message: string; location?: string } {
  for (let k = 0; k < body.length; k++) {
    const line = body[k]!;
    const at = line.indexOf(' panicked at ');
    if (!line.startsWith('thread ') || at < 0) continue;
    const rest = line.slice(at + 13);
    if (rest.startsWith("'")) {
      const message: string[] = [];
      for (let j = k; j < body.length; j++) {
        const text = j === k ? rest.slice(1) : body[j]!;
        const end = OLD_END.exec(text);
        if (end) {
          message.push(end[1]!);
          return { message: messageFrom(message), location: end[2]! };
        }
        message.push(text);
      }
      return { message: messageFrom(message) };
    }
    const message: string[] = [];
    for (let j = k + 1; j < body.length; j++) {
      const l = body[j]!;
      if (l.trim() === '' || l.startsWith('note: ') || l.startsWith('stack backtrace:')) break;
      message.push(l);
    }
    return { message: messageFrom(message), location: rest.replace(/:$/, '') };
  }
  return { message: messageFrom(body.filter((l) => !l.startsWith('note: '))) };
}

export function parseCargo(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  const listed: string[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const line = lines[i]!;
    const compiler = COMPILER.exec(line);
    const arrow = compiler ? /^\s+--> (\S+:\d+:\d+)$/.exec(lines[i + 1] ?? '') : null;
    if (compiler && arrow) {
      const file = arrow[1]!.replace(/:\d+:\d+$/, '');
      failures.push({
        id: `${file} ${compiler[1] ?? 'error'}`,
        message: compiler[2]!,
        location: arrow[1]!,
        runner: 'cargo',
      });
      continue;
    }
    if (line === 'failures:') {
      for (let j = i + 1; j < lines.length && j <= i + MAX_SCAN; j++) {
        const m = /^ {4}(\S+)$/.exec(lines[j]!);
        if (m) listed.push(m[1]!);
        else if (lines[j]!.trim() !== '') break;
      }
      continue;
    }
    const section = SECTION.exec(line);
    if (!section) continue;
    const body: string[] = [];
    for (let j = i + 1; j < lines.length && j <= i + MAX_SCAN; j++) {
      const l = lines[j]!;
      if (l.startsWith('---- ') || l === 'failures:' || l.startsWith('test result: ')) break;
      body.push(l);
    }
    const panic = panicOf(body);
    failures.push({
      id: section[1]!,
      message: panic.message,
      ...(panic.location ? { location: panic.location } : {}),
      runner: 'cargo',
    });
  }
  for (const name of listed) {
    if (failures.length >= MAX_FAILURES) break;
    if (!failures.some((f) => f.id === name)) failures.push({ id: name, message: '', runner: 'cargo' });
  }
  return failures;
}
