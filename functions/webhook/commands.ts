/**
 * `/factory <command>` in an issue or PR comment.
 *
 * Tolerant where people are sloppy, strict where a mistake would be costly:
 * - case-insensitive, extra spaces allowed, the command may follow other lines of text, and a
 *   leading @mention (`@code-factory /factory run`) is allowed;
 * - only the first command line counts, and it must START a line: `please /factory run` in prose
 *   does not trigger;
 * - lines inside fenced code blocks and quoted lines (`> /factory run`, as in a reply quoting an
 *   earlier comment) never trigger;
 * - a bare `/factory` or an unknown word is `unknown`, answered with the help text, as `help` is.
 */
export const COMMANDS = ['run', 'review', 'rescue', 'cancel', 'retry', 'help'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type ParsedCommand =
  | { kind: 'command'; name: CommandName; args: string }
  | { kind: 'unknown'; word: string };

/** Bounds the work on hostile comments (GitHub allows 65 536 characters). */
const MAX_SCANNED_LINES = 200;
/** `/factory` then a space or the end: `/factoryfoo` is not our command. */
const COMMAND_LINE = /^(?:@[A-Za-z0-9-]+(?:\[bot\])?[\s,:]+)?\/factory(?=\s|$)(?:\s+(\S+))?(.*)$/i;

export function parseCommand(body: string | null | undefined): ParsedCommand | undefined {
  if (!body?.toLowerCase().includes('/factory')) return undefined;
  const lines = body.split(/\r?\n/, MAX_SCANNED_LINES);
  let inFence = false;
  for (const rawLine of lines) {
    const line = rawLine.trim();
    if (line.startsWith('```') || line.startsWith('~~~')) {
      inFence = !inFence;
      continue;
    }
    if (inFence || line.startsWith('>')) continue;
    const match = COMMAND_LINE.exec(line);
    if (!match) continue;
    const word = (match[1] ?? '').toLowerCase();
    const name = COMMANDS.find((command) => command === word);
    if (name) return { kind: 'command', name, args: (match[2] ?? '').trim().slice(0, 200) };
    return { kind: 'unknown', word: word.slice(0, 40) };
  }
  return undefined;
}

export const HELP_TEXT = [
  'Code Factory commands (comment on an issue or pull request; write access required):',
  '',
  '| command | what it does |',
  '| --- | --- |',
  '| `/factory run` | start a run that turns this issue into a pull request |',
  '| `/factory retry` | start a new run after the last one ended (after a stopped run, it resumes from its draft PR; on a pull request, it reviews it again) |',
  '| `/factory review` | AI review of this pull request |',
  "| `/factory rescue` | diagnose and fix this pull request's failing checks |",
  '| `/factory cancel` | stop the active run |',
  '| `/factory help` | this list |',
].join('\n');
