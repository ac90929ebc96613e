import { describe, expect, it } from 'vitest';
import { authenticate, checkNewApiKey, createApiKey, hashApiKey } from '../../../functions/api/auth';
import type { ApiKeyRecord, ApiKeyStore } from '../../../functions/shared/ports';

/** Only the two key methods; a Map keyed by hash, like the table. */
function keyStore() {
  const keys = new Map<string, ApiKeyRecord>();
  const store: ApiKeyStore = {
    putApiKey: async (record: ApiKeyRecord) => void keys.set(record.keyHash, structuredClone(record)),
    getApiKey: async (hash: string) => keys.get(hash),
  };
  return { keys, store };
}

describe('API keys', () => {
  it('creates a cf_ key shown once and stores only its SHA-256 with scopes and patterns', async () => {
    const { keys, store } = keyStore();
    const { apiKey, record } = await createApiKey(store, {
      name: 'ci',
      scopes: ['runs:read'],
      repoPatterns: ['acme/*'],
    });
    expect(apiKey).toMatch(/^cf_[A-Za-z0-9_-]{43}$/);
    expect(record.keyHash).toBe(hashApiKey(apiKey));
    expect(JSON.stringify([...keys.values()])).not.toContain(apiKey);
    const second = await createApiKey(store, { name: 'ci', scopes: ['runs:read'], repoPatterns: ['acme/*'] });
    expect(second.apiKey).not.toBe(apiKey);
  });

  it('authenticates a Bearer key and matches repos by pattern, case-insensitively', async () => {
    const { store } = keyStore();
    const { apiKey } = await createApiKey(store, {
      name: 'ci',
      scopes: ['runs:read', 'runs:write'],
      repoPatterns: ['acme/*'],
    });
    const result = await authenticate(store, `Bearer ${apiKey}`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.principal.scopes.has('runs:write')).toBe(true);
    expect(result.principal.canSeeRepo('acme/widgets')).toBe(true);
    expect(result.principal.canSeeRepo('ACME/Widgets')).toBe(true);
    expect(result.principal.canSeeRepo('other/widgets')).toBe(false);
    expect(result.principal.canSeeRepo('acme/widgets/../x')).toBe(false);
  });

  it('refuses missing, malformed, unknown and revoked keys', async () => {
    const { keys, store } = keyStore();
    const { apiKey, record } = await createApiKey(store, {
      name: 'ci',
      scopes: ['runs:read'],
      repoPatterns: ['a/*'],
    });
    for (const header of [
      undefined,
      '',
      'Basic abc',
      'Bearer',
      'Bearer not-a-key',
      `Bearer cf_${'z'.repeat(43)}`,
    ]) {
      expect((await authenticate(store, header)).ok).toBe(false);
    }
    keys.set(record.keyHash, { ...record, revoked: true });
    expect((await authenticate(store, `Bearer ${apiKey}`)).ok).toBe(false);
  });

  it('validates a new key request', () => {
    expect(checkNewApiKey({ name: 'ok', scopes: ['runs:read'], repoPatterns: ['acme/*'] })).toEqual([]);
    expect(checkNewApiKey({ name: '', scopes: [], repoPatterns: [] })).toHaveLength(3);
    expect(
      checkNewApiKey({ name: 'x', scopes: ['runs:admin' as never], repoPatterns: ['nohash'] }),
    ).toHaveLength(2);
  });
});
