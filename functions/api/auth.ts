import { createHash, randomBytes } from 'node:crypto';
import picomatch from 'picomatch';
import type { ApiKeyRecord, ApiKeyStore, Clock } from '../shared/ports';

/**
 * API keys (SPEC §3): `cf_` + 32 random bytes (base64url), shown once, stored only as their
 * SHA-256 (hex) with scopes and repo patterns. A request's key is looked up by hash (one GetItem).
 */
export type Scope = 'runs:read' | 'runs:write';
export const SCOPES: readonly Scope[] = ['runs:read', 'runs:write'];

const API_KEY_FORMAT = /^cf_[A-Za-z0-9_-]{20,100}$/;
const MAX_PATTERNS = 50;

export interface Principal {
  keyHash: string;
  name: string;
  scopes: ReadonlySet<Scope>;
  repoPatterns: readonly string[];
  /** picomatch over the patterns; GitHub names are case-insensitive. */
  canSeeRepo(repo: string): boolean;
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export function principalOf(record: ApiKeyRecord): Principal {
  const matcher =
    record.repoPatterns.length > 0 ? picomatch(record.repoPatterns, { nocase: true }) : undefined;
  return {
    keyHash: record.keyHash,
    name: record.name,
    scopes: new Set(record.scopes),
    repoPatterns: record.repoPatterns,
    canSeeRepo: (repo) => matcher?.(repo) ?? false,
  };
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; message: string };

/** `Authorization: Bearer cf_…` → the key's principal, or why not (always a 401). */
export async function authenticate(
  store: ApiKeyStore,
  authorization: string | undefined,
): Promise<AuthResult> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match?.[1]) return { ok: false, message: 'missing bearer API key' };
  const key = match[1];
  if (!API_KEY_FORMAT.test(key)) return { ok: false, message: 'unknown API key' };
  const record = await store.getApiKey(hashApiKey(key));
  if (!record || record.revoked) return { ok: false, message: 'unknown API key' };
  return { ok: true, principal: principalOf(record) };
}

export interface NewApiKey {
  name: string;
  scopes: Scope[];
  repoPatterns: string[];
}

/** Validates scopes and patterns (a pattern picomatch cannot compile is refused). */
export function checkNewApiKey(input: NewApiKey): string[] {
  const problems: string[] = [];
  if (!/^[\w .@:-]{1,100}$/.test(input.name)) problems.push('name: 1-100 letters, digits, " .@:-_"');
  if (input.scopes.length === 0) problems.push('scopes: at least one of runs:read, runs:write');
  for (const scope of input.scopes) {
    if (!SCOPES.includes(scope)) problems.push(`scopes: unknown scope ${scope}`);
  }
  if (input.repoPatterns.length === 0) problems.push('repoPatterns: at least one (e.g. acme/*)');
  if (input.repoPatterns.length > MAX_PATTERNS) problems.push(`repoPatterns: at most ${MAX_PATTERNS}`);
  for (const pattern of input.repoPatterns) {
    if (!/^[A-Za-z0-9_.\-*?{},[\]!/]{1,200}$/.test(pattern) || !pattern.includes('/')) {
      problems.push(`repoPatterns: ${JSON.stringify(pattern)} is not an owner/repo glob`);
      continue;
    }
    try {
      picomatch.makeRe(pattern);
    } catch {
      problems.push(`repoPatterns: ${JSON.stringify(pattern)} does not compile`);
    }
  }
  return problems;
}

/**
 * Creates an API key: the plaintext is returned once and never stored (only its hash). Used by
 * `code-factory keys create` and by the embedded stack to print one key.
 */
export async function createApiKey(
  store: ApiKeyStore,
  input: NewApiKey,
  clock: Clock = { now: () => Date.now() },
): Promise<{ apiKey: string; record: ApiKeyRecord }> {
  const problems = checkNewApiKey(input);
  if (problems.length > 0) throw new Error(`invalid API key request: ${problems.join('; ')}`);
  const apiKey = `cf_${randomBytes(32).toString('base64url')}`;
  const record: ApiKeyRecord = {
    keyHash: hashApiKey(apiKey),
    name: input.name,
    scopes: [...new Set(input.scopes)],
    repoPatterns: [...new Set(input.repoPatterns)],
    createdAt: new Date(clock.now()).toISOString(),
  };
  await store.putApiKey(record);
  return { apiKey, record };
}
