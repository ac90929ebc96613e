/**
 * The secret rules, in one place: what the boundary refuses in added lines and what is redacted
 * from issue and comment text before a prompt. Modelled on secretlint's recommended preset (its
 * rule names where there is one) and kept here rather than used from it: the preset alone bundles
 * to about 1 MB, the stage runner's whole budget (docs/decisions/0007-secret-scanning.md).
 *
 * Every regex is linear: no nested unbounded quantifiers, bounded look-arounds, so scanning is
 * O(line length). Token boundaries are look-arounds on the token's own alphabet, not `\b`, so a key
 * glued to a prefix by `_` or `-` (`AWS_KEY_AKIA…`, `TOKEN_ghp_…`) is still found.
 */

export interface SecretRule {
  id: string;
  /** What a message calls it (never the value). */
  label: string;
  /** Not global; group 1, when present, is the secret value itself (the rest is context). */
  regex: RegExp;
  /** Extra check on the match (entropy, placeholders) to keep false positives down. */
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

const PLACEHOLDER = /example|placeholder|changeme|dummy|sample|your[_-]?|redacted|<|>|\$\{|\{\{|\*\*\*/i;

/** A value that looks random: long, letters and digits mixed, high entropy, not a placeholder. */
export function looksRandom(value: string): boolean {
  if (value.length < 16) return false;
  if (!/[0-9]/.test(value) || !/[A-Za-z]/.test(value)) return false;
  if (/^(x+|X+|\*+|0+|(.)\2+)$/.test(value) || PLACEHOLDER.test(value)) return false;
  return shannonEntropy(value) >= 3.5;
}

/** A password in a URL or header that is not a placeholder or a variable. */
const realPassword = (value: string): boolean =>
  value.length >= 6 &&
  !PLACEHOLDER.test(value) &&
  !/^[$%{(]/.test(value) &&
  !/^(?:pass(?:word)?|secret|pwd|xxx+|\*+|[.]+)$/i.test(value);

export const SECRET_RULES: readonly SecretRule[] = [
  {
    id: 'aws-access-key-id',
    label: 'an AWS access key id',
    // Also written in groups (`AKIA-QWER-…`); a grouped one needs a digit, like nearly every real key.
    regex: /(?:AKIA|ASIA|ABIA|ACCA)((?:[-_ .]?[A-Z0-9]){16})(?![A-Z0-9])/,
    accept: (match) => !/[-_ .]/.test(match[1] ?? '') || /[0-9]/.test(match[1] ?? ''),
  },
  {
    id: 'aws-secret-access-key',
    label: 'an AWS secret access key',
    regex:
      /aws_?secret_?(?:access_?)?key["']?\s{0,8}(?::=|=>|[:=,])\s{0,8}["']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])/i,
  },
  {
    id: 'github-token',
    label: 'a GitHub token',
    regex: /(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9])/,
  },
  {
    id: 'github-fine-grained-token',
    label: 'a GitHub fine-grained token',
    regex: /github_pat_[A-Za-z0-9_]{22,255}/,
  },
  { id: 'gitlab-token', label: 'a GitLab token', regex: /glpat-[A-Za-z0-9_-]{20,}/ },
  { id: 'anthropic-api-key', label: 'an Anthropic API key', regex: /sk-ant-[A-Za-z0-9_-]{20,}/ },
  {
    id: 'openai-api-key',
    label: 'an OpenAI API key',
    regex: /sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}/,
  },
  { id: 'slack-token', label: 'a Slack token', regex: /xox[abposr]-[A-Za-z0-9-]{10,}/ },
  {
    id: 'slack-webhook',
    label: 'a Slack webhook URL',
    regex: /hooks\.slack\.com\/services\/T[A-Z0-9]{4,}\/B[A-Z0-9]{4,}\/[A-Za-z0-9]{16,}/,
  },
  { id: 'npm-token', label: 'an npm token', regex: /(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/ },
  {
    id: 'gcp-api-key',
    label: 'a Google API key',
    regex: /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/,
  },
  { id: 'stripe-secret-key', label: 'a Stripe secret key', regex: /(?:sk|rk)_live_[0-9A-Za-z]{24,}/ },
  {
    id: 'sendgrid-api-key',
    label: 'a SendGrid API key',
    regex: /SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/,
  },
  { id: 'shopify-token', label: 'a Shopify token', regex: /shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}/ },
  {
    id: 'private-key',
    label: 'a private key block',
    regex: /-{5}\s{0,4}BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?\s{0,4}-{5}|PuTTY-User-Key-File-\d/i,
  },
  {
    id: 'private-key-body',
    label: 'the body of a private key (base64 DER)',
    // PKCS#1 RSA, PKCS#8, SEC1 EC and Ed25519 keys start with these DER prefixes.
    regex:
      /(?:MII[A-Za-z0-9+/]{1,3}IBAAKC|MII[A-Za-z0-9+/]{1,3}IBADANBgkqhkiG9w0BAQEFAAS|MHcCAQEEI|MC4CAQAwBQYDK2VwBCIEI)[A-Za-z0-9+/]{16,}/,
  },
  {
    id: 'jwt',
    label: 'a JSON Web Token',
    regex: /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/,
  },
  {
    id: 'basic-auth-url',
    label: 'a password in a URL',
    // Starts at the literal `://`, which the regex engine finds fast; the scheme does not matter.
    regex: /:\/\/[^\s:@/'"]{1,64}:([^\s@/'"]{1,128})@/,
    accept: (match) => realPassword(match[1] ?? ''),
  },
  {
    id: 'bearer-token',
    label: 'a bearer token',
    regex: /bearer\s{1,4}([A-Za-z0-9._~+/-]{20,512}=*)/i,
    accept: (match) => looksRandom(match[1] ?? ''),
  },
  {
    id: 'generic-secret',
    label: 'a hard-coded secret',
    regex:
      /(?:secret|passwd|password|pwd|api[_-]?key|access[_-]?key|private[_-]?key|auth[_-]?token|token|credential)[A-Za-z0-9_]{0,40}["']?\s{0,8}(?::=|=>|[:=])\s{0,8}["'`]?([A-Za-z0-9+/_=.-]{16,200})/i,
    accept: (match) => looksRandom(match[1] ?? ''),
  },
];
