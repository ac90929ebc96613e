import unhomoglyph from 'unhomoglyph';

/**
 * Names that look alike fold to the same text. The fold is the UTS #39 skeleton (NFD, default-
 * ignorable code points removed, each character replaced by its prototype from Unicode's
 * confusables.txt — the `unhomoglyph` package's table — NFD again), taken after NFKC (fullwidth
 * `．` is not in confusables.txt) and lower-casing (forbidding rules ignore case), with combining
 * marks dropped (`.gït`). Only for comparing: the folded text is not meant to be read.
 */

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const MARKS = /\p{Mn}/gu;

export function lookalikeFold(text: string): string {
  const base = text.normalize('NFKC').toLowerCase().normalize('NFD').replace(IGNORABLE, '');
  return unhomoglyph(base.replace(MARKS, '')).normalize('NFD').replace(MARKS, '').toLowerCase();
}

/** Glob syntax is kept as is; only the literal runs between it are folded. */
const GLOB_SYNTAX = /(\[[^\]]*\]|[*?{},/])/;

/** `glob` with its literal characters folded, to match folded paths. */
export function lookalikeFoldGlob(glob: string): string {
  return glob
    .split(GLOB_SYNTAX)
    .map((part, index) => (index % 2 === 1 ? part.toLowerCase() : lookalikeFold(part)))
    .join('');
}
