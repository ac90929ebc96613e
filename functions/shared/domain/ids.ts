import { decodeTime, isValid, ulid } from 'ulid';
import * as z from 'zod';

/**
 * Identifiers. Run ids are ULIDs (SPEC §1): 26 Crockford base32 characters whose first 10 encode
 * the creation time, so they sort by age and double as Step Functions execution names.
 */
const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const Ulid = z.string().regex(ULID_PATTERN, 'expected a ULID (26 Crockford base32 characters)');

/** A new run id. `now` (epoch ms) is injectable so callers can use the Clock port. */
export function newRunId(now?: number): string {
  return ulid(now);
}

/** True for a canonical (upper-case) ULID whose timestamp is in range. */
export function isUlid(value: unknown): value is string {
  // The 48-bit timestamp caps the first character at '7' (7ZZZZZZZZZ is the largest time).
  return typeof value === 'string' && ULID_PATTERN.test(value) && value[0]! <= '7' && isValid(value);
}

export const isRunId = isUlid;

/** The run id, or a ValidationError-friendly message; never throws. */
export function parseRunId(value: unknown): { ok: true; runId: string } | { ok: false; message: string } {
  if (isUlid(value)) return { ok: true, runId: value };
  return { ok: false, message: 'run id must be a ULID (26 Crockford base32 characters)' };
}

/** Creation time (epoch ms) encoded in a ULID. */
export function ulidTime(id: string): number {
  if (!isUlid(id)) throw new RangeError('not a ULID');
  return decodeTime(id);
}
