import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * Opaque, tamper-checked page tokens (`next_token`).
 *
 * token = base64url(JSON {v, c, b}) "." base64url(HMAC-SHA256(pageKey, payload))
 *   c: the store's cursor (its LastEvaluatedKey, already opaque to the API's callers)
 *   b: a hash of what the token is bound to: the route, its filters and the caller's key hash,
 *      so a token can neither be edited nor replayed against another listing or by another key.
 *
 * The page key is derived with HKDF-SHA256 from the approval signing key in Secrets Manager
 * (`APPROVAL_KEY_SECRET_ID`) with a dedicated `info`, so the API needs no secret of its own and a
 * page token can never be confused with an approval link MAC (docs/api.md).
 */
const VERSION = 1;
const INFO = 'code-factory/api-page-token/v1';
export const MAX_TOKEN_CHARS = 3000;

export function derivePageKey(secretValue: string): Buffer {
  const ikm = Buffer.from(secretValue.trim(), 'utf8');
  if (ikm.length < 32) throw new Error('the page-token key material must be at least 32 bytes');
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), INFO, 32));
}

/** Canonical binding: a JSON array, so field boundaries are unambiguous. */
export function bindingOf(parts: Array<string | number | undefined>): string {
  return createHash('sha256')
    .update(JSON.stringify(parts.map((p) => p ?? null)))
    .digest('base64url');
}

const mac = (key: Buffer, payload: string): string =>
  createHmac('sha256', key).update(payload).digest('base64url');

export function signPageToken(key: Buffer, cursor: string, binding: string): string {
  const payload = Buffer.from(JSON.stringify({ v: VERSION, c: cursor, b: binding }), 'utf8').toString(
    'base64url',
  );
  return `${payload}.${mac(key, payload)}`;
}

/** The store cursor inside a valid token for this binding, or undefined for any tampering. */
export function openPageToken(key: Buffer, token: string, binding: string): string | undefined {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
  const match = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  const expected = Buffer.from(mac(key, match[1]), 'utf8');
  const given = Buffer.from(match[2], 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(match[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const body = decoded as { v?: unknown; c?: unknown; b?: unknown } | null;
  if (body?.v !== VERSION || typeof body.c !== 'string' || body.b !== binding) return undefined;
  return body.c;
}
