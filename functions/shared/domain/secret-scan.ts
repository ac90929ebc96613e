import { looksRandom, SECRET_RULES, type SecretRule, shannonEntropy } from './secret-rules';

/**
 * Finds and redacts secrets with the rules of secret-rules.ts, in the text as written and in what
 * it decodes to: a token hidden as base64 (`Z2hwX…`) or percent-encoding (`%2D%2D%2D%2D%2DBEGIN`)
 * is found too. Work is bounded per text (decoded candidates and characters), so a hostile line
 * costs time linear in its length.
 */

export { looksRandom, SECRET_RULES as SECRET_PATTERNS, shannonEntropy };
export type { SecretRule as SecretPattern };

export type SecretEncoding = 'base64' | 'percent-encoded';

export interface SecretFinding {
  id: string;
  label: string;
  encoding?: SecretEncoding;
}

const GLOBAL_REGEX = new Map<SecretRule, RegExp>(
  SECRET_RULES.map((rule) => [rule, new RegExp(rule.regex.source, `${rule.regex.flags}g`)]),
);

// Runs long enough to hide a token once encoded (24 base64 characters are 18 bytes).
const BASE64_RUN = /[A-Za-z0-9+/_-]{24,}={0,2}/g;
const PERCENT_WORD = /[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*){3,}/g;
const MAX_CANDIDATES = 64;
// Encoded text mixes cases; identifiers such as `some_long_snake_case_name` are not candidates.
const mixedCase = (run: string): boolean => /[a-z]/.test(run) && /[A-Z]/.test(run);
const MAX_CANDIDATE_CHARS = 64 * 1024;
const MAX_DECODED_CHARS = 256 * 1024;

interface Hit {
  rule: SecretRule;
  /** The part of the text to redact: the value (group 1) or the whole match. */
  start: number;
  end: number;
}

/** Accepted matches of every rule in `text`, as written. */
function directHits(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const rule of SECRET_RULES) {
    const regex = GLOBAL_REGEX.get(rule) as RegExp;
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match; match = regex.exec(text)) {
      if (match[0].length === 0) regex.lastIndex++;
      if (rule.accept && !rule.accept(match)) continue;
      const value = match[1];
      const start = value === undefined ? match.index : match.index + match[0].indexOf(value);
      hits.push({ rule, start, end: start + (value ?? match[0]).length });
    }
  }
  return hits;
}

/** Decoded bytes that read as text (a token), not as binary (an image, a hash). */
function readableText(bytes: Buffer): string | undefined {
  if (bytes.length < 12) return undefined;
  let printable = 0;
  for (const byte of bytes)
    if ((byte >= 0x20 && byte < 0x7f) || byte === 9 || byte === 10 || byte === 13) printable++;
  return printable / bytes.length >= 0.9 ? bytes.toString('latin1') : undefined;
}

/** Spans of `text` that decode (base64, percent-encoding) to something with a secret in it. */
function encodedHits(text: string): Array<Hit & { encoding: SecretEncoding }> {
  const hits: Array<Hit & { encoding: SecretEncoding }> = [];
  let candidates = 0;
  let budget = MAX_DECODED_CHARS;
  const scan = (regex: RegExp, encoding: SecretEncoding, decode: (run: string) => string | undefined) => {
    regex.lastIndex = 0;
    for (let match = regex.exec(text); match; match = regex.exec(text)) {
      if (candidates >= MAX_CANDIDATES || budget <= 0) return;
      if (encoding === 'base64' && !mixedCase(match[0])) continue;
      candidates++;
      const run = match[0].slice(0, Math.min(MAX_CANDIDATE_CHARS, budget));
      budget -= run.length;
      const decoded = decode(run);
      const found = decoded === undefined ? [] : directHits(decoded);
      if (found[0]) {
        hits.push({ rule: found[0].rule, start: match.index, end: match.index + match[0].length, encoding });
      }
    }
  };
  scan(BASE64_RUN, 'base64', (run) => readableText(Buffer.from(run, 'base64')));
  if (text.includes('%')) {
    scan(PERCENT_WORD, 'percent-encoded', (word) =>
      word.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    );
  }
  return hits;
}

const findingOf = (hit: Hit & { encoding?: SecretEncoding }): SecretFinding => ({
  id: hit.rule.id,
  label: hit.rule.label,
  ...(hit.encoding ? { encoding: hit.encoding } : {}),
});

/** The secrets in `text`, one finding per rule and encoding (empty when clean). */
export function scanSecrets(text: string): SecretFinding[] {
  const seen = new Set<string>();
  const findings: SecretFinding[] = [];
  for (const hit of [...directHits(text), ...encodedHits(text)]) {
    const finding = findingOf(hit);
    const key = `${finding.id}/${finding.encoding ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    findings.push(finding);
  }
  return findings;
}

/** Ids of the rules that match `line` (empty when clean). */
export function findSecrets(line: string): string[] {
  return [...new Set(scanSecrets(line).map((finding) => finding.id))];
}

/**
 * `text` with every secret replaced by `[REDACTED:<rule id>]` (an encoded one: its whole encoded
 * run), and what was found. Overlapping hits are merged; the text is otherwise unchanged.
 */
export function redactSecrets(text: string): { text: string; findings: SecretFinding[] } {
  const hits = [...directHits(text), ...encodedHits(text)].sort((a, b) => a.start - b.start || b.end - a.end);
  if (hits.length === 0) return { text, findings: [] };
  let out = '';
  let at = 0;
  for (const hit of hits) {
    if (hit.end <= at) continue; // inside a span already redacted
    out += `${text.slice(at, Math.max(at, hit.start))}[REDACTED:${hit.rule.id}]`;
    at = hit.end;
  }
  const findings = new Map(
    hits.map((hit) => {
      const finding = findingOf(hit);
      return [`${finding.id}/${finding.encoding ?? ''}`, finding] as const;
    }),
  );
  return { text: out + text.slice(at), findings: [...findings.values()] };
}
