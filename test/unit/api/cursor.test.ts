import { describe, expect, it } from 'vitest';
import { bindingOf, derivePageKey, openPageToken, signPageToken } from '../../../functions/api/cursor';

const key = derivePageKey('s'.repeat(40));
const binding = bindingOf(['runs', 'acme/widgets', undefined, undefined, 'keyhash']);

describe('page tokens', () => {
  it('round-trips the store cursor for the same binding', () => {
    const token = signPageToken(key, 'eyJwayI6IlJVTiMxIn0', binding);
    expect(openPageToken(key, token, binding)).toBe('eyJwayI6IlJVTiMxIn0');
  });

  it('refuses another binding, another key, an edited iv or ciphertext, and junk', () => {
    const token = signPageToken(key, 'cursor', binding);
    const [iv = '', sealed = ''] = token.split('.');
    expect(
      openPageToken(key, token, bindingOf(['runs', 'other/x', undefined, undefined, 'keyhash'])),
    ).toBeUndefined();
    expect(openPageToken(derivePageKey('t'.repeat(40)), token, binding)).toBeUndefined();
    const flip = (text: string) => `${text[0] === 'A' ? 'B' : 'A'}${text.slice(1)}`;
    expect(openPageToken(key, `${flip(iv)}.${sealed}`, binding)).toBeUndefined();
    expect(openPageToken(key, `${iv}.${flip(sealed)}`, binding)).toBeUndefined();
    expect(openPageToken(key, `${iv}.${sealed.slice(0, -4)}`, binding)).toBeUndefined();
    for (const junk of ['', '.', 'abc', `${iv}.`, 'x'.repeat(5000)]) {
      expect(openPageToken(key, junk, binding)).toBeUndefined();
    }
  });

  it('reveals nothing of the cursor it carries (a run id the caller may not see)', () => {
    const cursor = Buffer.from(JSON.stringify({ pk: 'RUN#01M802E9NZ8PM3WE0WDBC36C9Z' })).toString(
      'base64url',
    );
    const token = signPageToken(key, cursor, binding);
    const visible = token
      .split('.')
      .map((part) => Buffer.from(part, 'base64url').toString('latin1'))
      .join(' ');
    expect(visible).not.toContain('RUN#');
    expect(token).not.toContain(cursor);
    // Two tokens for the same cursor differ (fresh iv), so they cannot be compared either.
    expect(signPageToken(key, cursor, binding)).not.toBe(token);
  });

  it('derives a key distinct from its input and refuses short key material', () => {
    expect(key.equals(Buffer.from('s'.repeat(40)).subarray(0, 32))).toBe(false);
    expect(() => derivePageKey('short')).toThrow(/32 bytes/);
  });

  it('binds field boundaries unambiguously', () => {
    expect(bindingOf(['a/b', 'c'])).not.toBe(bindingOf(['a', 'b/c']));
    expect(bindingOf(['x', undefined])).not.toBe(bindingOf(['x', 'null']));
  });
});
