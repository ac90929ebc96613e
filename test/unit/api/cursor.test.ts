import { describe, expect, it } from 'vitest';
import { bindingOf, derivePageKey, openPageToken, signPageToken } from '../../../functions/api/cursor';

const key = derivePageKey('s'.repeat(40));
const binding = bindingOf(['runs', 'acme/widgets', undefined, undefined, 'keyhash']);

describe('page tokens', () => {
  it('round-trips the store cursor for the same binding', () => {
    const token = signPageToken(key, 'eyJwayI6IlJVTiMxIn0', binding);
    expect(openPageToken(key, token, binding)).toBe('eyJwayI6IlJVTiMxIn0');
  });

  it('refuses another binding, another key, an edited payload or MAC, and junk', () => {
    const token = signPageToken(key, 'cursor', binding);
    const [payload = '', mac = ''] = token.split('.');
    expect(
      openPageToken(key, token, bindingOf(['runs', 'other/x', undefined, undefined, 'keyhash'])),
    ).toBeUndefined();
    expect(openPageToken(derivePageKey('t'.repeat(40)), token, binding)).toBeUndefined();
    const edited = Buffer.from(JSON.stringify({ v: 1, c: 'other', b: binding })).toString('base64url');
    expect(openPageToken(key, `${edited}.${mac}`, binding)).toBeUndefined();
    const flipped = `${payload}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    expect(openPageToken(key, flipped, binding)).toBeUndefined();
    for (const junk of ['', '.', 'abc', `${payload}.`, 'x'.repeat(5000)]) {
      expect(openPageToken(key, junk, binding)).toBeUndefined();
    }
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
