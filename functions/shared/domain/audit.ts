import { createHash } from 'node:crypto';

/**
 * Audit events form a hash chain per run: each event's hash covers its content and the previous
 * event's hash, so editing, dropping, inserting or reordering any event breaks every later link.
 */
export const GENESIS_HASH = '0'.repeat(64);

/** Deterministic JSON: object keys sorted at every depth, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface HashableEvent {
  runId: string;
  seq: number;
  at: string;
  type: string;
  actor: string;
  data?: Record<string, unknown>;
}

/** hash = sha256(prevHash + "\n" + canonicalJson({runId, seq, at, type, actor, data})) */
export function hashEvent(prevHash: string, event: HashableEvent): string {
  const body = canonicalJson({
    runId: event.runId,
    seq: event.seq,
    at: event.at,
    type: event.type,
    actor: event.actor,
    data: event.data ?? {},
  });
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex');
}
