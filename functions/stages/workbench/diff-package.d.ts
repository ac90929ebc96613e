/**
 * The part of jsdiff 5 (the `diff` package, which ships no types) that diff.ts uses. Remove this
 * file if `@types/diff` or a typed `diff` (8+) is added to package.json.
 */
declare module 'diff' {
  export interface Hunk {
    oldStart: number;
    oldLines: number;
    newStart: number;
    newLines: number;
    lines: string[];
  }
  export interface ParsedDiff {
    oldFileName?: string;
    newFileName?: string;
    hunks: Hunk[];
  }
  export function structuredPatch(
    oldFileName: string,
    newFileName: string,
    oldStr: string,
    newStr: string,
    oldHeader?: string,
    newHeader?: string,
    options?: { context?: number; timeout?: number },
  ): ParsedDiff | undefined;
}
