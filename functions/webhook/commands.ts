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
 * - a bare `/factory` or an unknown word is `unknown`, answered with the help text, as `help` is;
 *   on a factory PR, any other text after `/factory` is a follow-up instruction: `text` holds it
 *   (the rest of the command line and the lines after it, bounded).
 */
export const COMMANDS = ['run', 'review', 'rescue', 'cancel', 'retry', 'help'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type ParsedCommand =
  | { kind: 'command'; name: CommandName; args: string }
  | { kind: 'unknown'; word: string; text: string };

/** Characters of follow-up instructions kept from a comment. */
export const MAX_INSTRUCTION_CHARS = 8000;

/** Bounds the work on hostile comments (GitHub allows 65 536 characters). */
const MAX_SCANNED_LINES = 200;
/** `/factory` then a space or the end: `/factoryfoo` is not our command. */
const COMMAND_LINE = /^(?:@[A-Za-z0-9-]+(?:\[bot\])?[\s,:]+)?\/factory(?=\s|$)(?:\s+(\S+))?(.*)$/i;

export function parseCommand(body: string | null | undefined): ParsedCommand | undefined {
  if (!body?.toLowerCase().includes('/factory')) return undefined;
  const lines = body.split(/\r?\n/, MAX_SCANNED_LINES);
  let inFence = false;
  for (const [index, rawLine] of lines.entries()) {
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
    const rest = [`${match[1] ?? ''}${match[2] ?? ''}`, ...lines.slice(index + 1)].join('\n').trim();
    return { kind: 'unknown', word: word.slice(0, 40), text: rest.slice(0, MAX_INSTRUCTION_CHARS) };
  }
  return undefined;
}

export const HELP_TEXT = [
  'Code Factory commands (comment on an issue or pull request; write access required):',
  '',
  '| command | what it does |',
  '| --- | --- |',
  '| `/factory run` | start a run that turns this issue into a pull request |',
  '| `/factory retry` | start a new run after the last one ended (after a stopped run, it resumes from its draft PR; on a pull request, it repeats its last review or rescue) |',
  '| `/factory review` | AI review of this pull request |',
  "| `/factory rescue` | diagnose and fix this pull request's failing checks |",
  '| `/factory cancel` | stop the active run |',
  '| `/factory help` | this list |',
  "| `/factory <instructions>` | on the factory's own pull request: a follow-up that changes it as asked, on the same branch (a review requesting changes does the same) |",
].join('\n');
