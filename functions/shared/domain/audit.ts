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

/** An audit event as stored: its content plus the chain links. */
export interface ChainedEvent extends HashableEvent {
  prevHash: string;
  hash: string;
}

export type ChainVerdict = { ok: true } | { ok: false; index: number; reason: string };

export interface VerifyChainOptions {
  /** The run the events must belong to (default: the first event's). */
  runId?: string;
  /**
   * The chain head recorded elsewhere (on the run item). Without it, dropping events from the end
   * is undetectable: a shorter chain is still a valid chain. With it, the chain must end exactly
   * at the head: shorter is truncated, longer holds events the head does not confirm.
   */
  expectedHead?: { seq: number; hash: string };
}

/**
 * Verifies a run's complete event list: seq 0, 1, 2... without gaps, each prevHash equal to the
 * previous event's hash (GENESIS_HASH first), and each hash equal to the recomputed one. Edited,
 * dropped, inserted and reordered events all fail; the verdict names the first bad index.
 */
export function verifyChain(events: readonly ChainedEvent[], options: VerifyChainOptions = {}): ChainVerdict {
  const runId = options.runId ?? events[0]?.runId;
  let prevHash = GENESIS_HASH;
  for (let index = 0; index < events.length; index++) {
    const event = events[index];
    if (!event || typeof event !== 'object') return { ok: false, index, reason: 'not an event' };
    if (event.runId !== runId)
      return { ok: false, index, reason: `belongs to run ${event.runId}, not ${runId}` };
    if (event.seq !== index) {
      return {
        ok: false,
        index,
        reason: `seq is ${event.seq}, expected ${index} (an event was dropped, inserted or moved)`,
      };
    }
    if (event.prevHash !== prevHash) {
      return { ok: false, index, reason: 'prevHash does not match the previous event (chain broken)' };
    }
    let recomputed: string;
    try {
      recomputed = hashEvent(prevHash, event);
    } catch {
      return { ok: false, index, reason: 'content cannot be hashed' };
    }
    if (event.hash !== recomputed)
      return { ok: false, index, reason: 'hash does not match the content (edited)' };
    prevHash = event.hash;
  }
  const head = options.expectedHead;
  if (head) {
    const lastSeq = events.length - 1;
    if (head.seq > lastSeq) {
      return {
        ok: false,
        index: events.length,
        reason: `chain ends at seq ${lastSeq < 0 ? 'none' : lastSeq}, but the recorded head is seq ${head.seq}: events were cut off the end (truncated)`,
      };
    }
    if (events[head.seq]?.hash !== head.hash) {
      return { ok: false, index: head.seq, reason: 'hash differs from the recorded head' };
    }
    if (head.seq < lastSeq) {
      return {
        ok: false,
        index: head.seq + 1,
        reason: `${lastSeq - head.seq} event(s) after the recorded head (seq ${head.seq}) are not confirmed by it (an append in progress or interrupted, or added behind the store's back)`,
      };
    }
  }
  return { ok: true };
}
