import * as z from 'zod';
import type { Contract } from './contract';
import { LIMITS } from './factory-config';
import { decidePath, isDependencyManifest, type PathRule } from './path-rules';
import { scanSecrets } from './secret-scan';

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

// The secret rules and scanner live in secret-rules.ts and secret-scan.ts; re-exported for callers.
export { findSecrets, looksRandom, SECRET_PATTERNS, type SecretPattern, shannonEntropy } from './secret-scan';

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
      for (const finding of scanSecrets(change.addedLines[index] ?? '')) {
        if (secretsInFile >= MAX_SECRET_FINDINGS_PER_FILE) break;
        secretsInFile++;
        const how = finding.encoding ? `, ${finding.encoding}` : '';
        violations.push({
          rule: 'secret',
          ...(shownPath === undefined ? {} : { path: shownPath }),
          message: `added line ${index + 1} of ${shownPath ?? 'a file'} looks like ${finding.label} (${finding.id}${how}); remove it and read secrets from the environment or a secret store`,
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
