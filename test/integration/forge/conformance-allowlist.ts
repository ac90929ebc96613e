/**
 * Differences between the forge and GitHub that are kept on purpose: the one list the
 * conformance tests consult. Each entry names the operation or webhook (`where`), the JSON
 * path of the field (`path`, as ajv's instancePath, `''` for the object itself), and why
 * emulating GitHub there would be unreasonable. Fix the forge rather than adding here.
 */
export interface AllowedDifference {
  /** `METHOD /path/template` for REST, or `webhook event.action`. */
  where: string;
  /** ajv instancePath of the field (a prefix: children are allowed too). */
  path: string;
  reason: string;
}

// Empty: every difference the conformance tests found so far was cheap to fix in the forge.
export const ALLOWED_DIFFERENCES: AllowedDifference[] = [];

/** Whether a failure `where path: message` is allowed. */
export function isAllowed(where: string, instancePath: string): boolean {
  return ALLOWED_DIFFERENCES.some(
    (entry) =>
      entry.where === where && (instancePath === entry.path || instancePath.startsWith(`${entry.path}/`)),
  );
}
