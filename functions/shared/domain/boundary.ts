import * as z from 'zod';
import { type Contract, decidePath, isDependencyManifest, LIMITS, type PathRule } from './contract';

/**
 * The boundary stage (SPEC §2.5): a deterministic, pure check of a pending change against the
 * run's contract. No model is involved and nothing the model or the issue says can widen it.
 * Violation messages go back to the model as feedback, so they never quote a secret.
 */

export const MAX_CHANGED_FILES_CHECKED = 5000;

/** One file's change, as functions/stages/boundary.ts counts it from a line diff (domain/line-diff.ts). */
export const FileChange = z.strictObject({
  path: z.string().max(4096),
  status: z.enum(['added', 'modified', 'deleted']),
  addedLines: z.array(z.string()),
  removedLineCount: z.number().int().nonnegative(),
  /** UTF-8 bytes of the added lines, terminators included. */
  addedBytes: z.number().int().nonnegative(),
  /** Counted as wholly rewritten: too many edits to diff (an over-count). */
  wholeFile: z.boolean().optional(),
});
export type FileChange = z.infer<typeof FileChange>;
export const ChangeSet = z.array(FileChange).max(MAX_CHANGED_FILES_CHECKED);

export type ViolationRule =
  | PathRule
  | 'dependency-manifest'
  | 'too-many-files'
  | 'too-many-lines'
  | 'file-too-large'
  | 'too-many-bytes'
  | 'secret'
  | 'invalid-change';

export interface Violation {
  rule: ViolationRule;
  path?: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// Secret patterns. Linear regexes only (no nested quantifiers), so scanning is O(line length).
// ---------------------------------------------------------------------------------------------

export interface SecretPattern {
  id: string;
  /** What the message calls it (never the value). */
  label: string;
  regex: RegExp;
  /** Extra check on the match (e.g. entropy) to keep false positives down. */
  accept?: (match: RegExpExecArray) => boolean;
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(value: string): number {
  if (value.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A value that looks random: long, letters and digits mixed, high entropy, not a placeholder. */
export function looksRandom(value: string): boolean {
  if (value.length < 16) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  if (/^(x+|X+|\*+|0+|(.)\2+)$/.test(value) || /example|placeholder|changeme|your[_-]?/i.test(value)) {
    return false;
  }
  return shannonEntropy(value) >= 3.5;
}

export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    id: 'aws-access-key-id',
    label: 'an AWS access key id',
    regex: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/,
  },
  {
    id: 'aws-secret-access-key',
    label: 'an AWS secret access key',
    regex: /aws_?secret_?access_?key["']?\s{0,8}[:=]\s{0,8}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/i,
  },
  {
    id: 'github-token',
    label: 'a GitHub token',
    regex: /\bgh[pousr]_[A-Za-z0-9]{36,251}\b/,
  },
  {
    id: 'github-fine-grained-token',
    label: 'a GitHub fine-grained token',
    regex: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/,
  },
  {
    id: 'anthropic-api-key',
    label: 'an Anthropic API key',
    regex: /\bsk-ant-[A-Za-z0-9_-]{20,}/,
  },
  {
    id: 'slack-token',
    label: 'a Slack token',
    regex: /\bxox[abposr]-[A-Za-z0-9-]{10,}/,
  },
  {
    id: 'private-key',
    label: 'a private key block',
    regex: /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/,
  },
  {
    id: 'generic-secret',
    label: 'a hard-coded secret',
    regex:
      /(?:secret|passwd|password|api[_-]?key|access[_-]?key|auth[_-]?token|token|credential)[A-Za-z0-9_]{0,40}["']?\s{0,8}(?::=|=>|[:=])\s{0,8}["'`]?([A-Za-z0-9+/_=-]{16,200})/i,
    accept: (match) => looksRandom(match[1] ?? ''),
  },
];

/** Ids of the secret patterns found in `line` (empty when clean). */
export function findSecrets(line: string): string[] {
  const found: string[] = [];
  for (const pattern of SECRET_PATTERNS) {
    const match = pattern.regex.exec(line);
    if (match && (!pattern.accept || pattern.accept(match))) found.push(pattern.id);
  }
  return found;
}

const MAX_SECRET_FINDINGS_PER_FILE = 5;
const MAX_VIOLATIONS = 200;

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

/** Every way `changes` breaks `contract`, in a stable order (empty = within the contract). */
export function checkBoundary(contract: Contract, changes: readonly FileChange[]): Violation[] {
  const parsed = ChangeSet.safeParse(changes);
  if (!parsed.success) {
    return [
      { rule: 'invalid-change', message: `the change set is malformed: ${parsed.error.issues[0]?.message}` },
    ];
  }
  const violations: Violation[] = [];
  const paths = new Set<string>();
  let lines = 0;
  let bytes = 0;
  let wholeFiles = 0;
  // Snapshots of runs admitted before the byte limits existed carry none: the defaults apply.
  const maxFileBytes = contract.maxFileBytes ?? LIMITS.maxFileBytes.default;
  const maxChangeBytes = contract.maxChangeBytes ?? LIMITS.maxChangeBytes.default;

  for (const change of parsed.data) {
    paths.add(change.path);
    lines += change.addedLines.length + change.removedLineCount;
    if (change.wholeFile) wholeFiles++;
    // Never fewer bytes than the added lines themselves hold.
    const fileBytes = Math.max(change.addedBytes, byteLengthOf(change.addedLines));
    bytes += fileBytes;
    // Unsafe paths are reported by rule only: their text may be hostile (control characters).
    const decision = decidePath(contract, change.path);
    const shownPath = decision.allowed || decision.rule !== 'invalid-path' ? change.path : undefined;
    if (!decision.allowed) {
      violations.push({
        rule: decision.rule,
        ...(shownPath === undefined ? {} : { path: shownPath }),
        message: `${shownPath ?? 'a path'} cannot be ${change.status}: ${decision.reason}`,
      });
    }
    if (fileBytes > maxFileBytes) {
      violations.push({
        rule: 'file-too-large',
        ...(shownPath === undefined ? {} : { path: shownPath }),
        message: `${shownPath ?? 'a file'} gains ${fileBytes} bytes; the contract allows at most ${maxFileBytes} bytes added to one file`,
      });
    }
    if (contract.dependencyPolicy === 'forbid' && isDependencyManifest(contract, change.path)) {
      violations.push({
        rule: 'dependency-manifest',
        path: change.path,
        message: `${change.path} is a dependency manifest or lock file; this repository's contract forbids changing dependencies`,
      });
    }
    let secretsInFile = 0;
    for (let index = 0; index < change.addedLines.length; index++) {
      if (secretsInFile >= MAX_SECRET_FINDINGS_PER_FILE) break;
      for (const id of findSecrets(change.addedLines[index] ?? '')) {
        const label = SECRET_PATTERNS.find((p) => p.id === id)?.label ?? 'a secret';
        secretsInFile++;
        violations.push({
          rule: 'secret',
          ...(shownPath === undefined ? {} : { path: shownPath }),
          message: `added line ${index + 1} of ${shownPath ?? 'a file'} looks like ${label} (${id}); remove it and read secrets from the environment or a secret store`,
        });
      }
    }
  }

  if (paths.size > contract.maxFilesChanged) {
    violations.push({
      rule: 'too-many-files',
      message: `${paths.size} files changed; the contract allows at most ${contract.maxFilesChanged}`,
    });
  }
  if (lines > contract.maxLinesChanged) {
    const note =
      wholeFiles > 0
        ? `. ${wholeFiles === 1 ? 'One file' : `${wholeFiles} files`} differed too much to diff and counted as wholly rewritten`
        : '';
    violations.push({
      rule: 'too-many-lines',
      message: `${lines} lines changed (added + removed, a moved line counts twice); the contract allows at most ${contract.maxLinesChanged}${note}`,
    });
  }
  if (bytes > maxChangeBytes) {
    violations.push({
      rule: 'too-many-bytes',
      message: `the change adds ${bytes} bytes; the contract allows at most ${maxChangeBytes} bytes in total`,
    });
  }
  return violations.slice(0, MAX_VIOLATIONS);
}

function byteLengthOf(lines: readonly string[]): number {
  let total = 0;
  for (const line of lines) total += Buffer.byteLength(line, 'utf8');
  return total;
}

/** The violations as one feedback text for the next implement attempt. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `- [${v.rule}] ${v.message}`).join('\n');
}
