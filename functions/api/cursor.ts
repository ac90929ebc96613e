import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Opaque, tamper-checked page tokens (`next_token`).
 *
 * token = base64url(iv) "." base64url(AES-256-GCM(pageKey, iv, cursor, aad = binding) || tag)
 *   cursor: the store's LastEvaluatedKey. Encrypted, not just signed: it names the last item
 *     read, which may be a run the caller may not see (a status listing filters by repo after
 *     the Query), so a token must not reveal it.
 *   binding: a hash of what the token is bound to (the route, its filters and the caller's key
 *     hash), as additional authenticated data: a token can neither be edited nor replayed against
 *     another listing or by another key.
 *
 * The page key is derived with HKDF-SHA256 from the approval signing key in Secrets Manager
 * (`APPROVAL_KEY_SECRET_ID`) with a dedicated `info`, so the API needs no secret of its own and a
 * page token can never be confused with an approval link MAC (docs/api.md).
 */
const INFO = 'code-factory/api-page-token/v2';
const IV_BYTES = 12;
const TAG_BYTES = 16;
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

export function signPageToken(key: Buffer, cursor: string, binding: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(binding, 'utf8'));
  const sealed = Buffer.concat([cipher.update(cursor, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** The store cursor inside a valid token for this binding, or undefined for any tampering. */
export function openPageToken(key: Buffer, token: string, binding: string): string | undefined {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
  const match = /^([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{23,})$/.exec(token);
  if (!match?.[1] || !match[2]) return undefined;
  const iv = Buffer.from(match[1], 'base64url');
  const sealed = Buffer.from(match[2], 'base64url');
  if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(binding, 'utf8'));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return plain.toString('utf8');
  } catch {
    return undefined; // edited, truncated, another binding or another key
  }
}
