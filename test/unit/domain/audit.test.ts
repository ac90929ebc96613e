import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ChainedEvent,
  canonicalJson,
  GENESIS_HASH,
  hashEvent,
  verifyChain,
} from '../../../functions/shared/domain/audit';

function chain(n: number, runId = '01HNZX8JGFACFA36RBXDHEQN6E'): ChainedEvent[] {
  const events: ChainedEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 0; seq < n; seq++) {
    const body = {
      runId,
      seq,
      at: `2025-01-01T00:00:0${seq}.000Z`,
      type: `step.${seq}`,
      actor: 'factory',
      data: { n: seq },
    };
    const hash = hashEvent(prevHash, body);
    events.push({ ...body, prevHash, hash });
    prevHash = hash;
  }
  return events;
}

/** Re-links a tampered list as an attacker would (recomputing every hash). */
function relink(events: ChainedEvent[]): ChainedEvent[] {
  let prevHash = GENESIS_HASH;
  return events.map((e) => {
    const hash = hashEvent(prevHash, e);
    const out = { ...e, prevHash, hash };
    prevHash = hash;
    return out;
  });
}

describe('audit hash chain', () => {
  it('keeps the formula stable', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: undefined }] })).toBe('{"a":[{"d":2}],"b":1}');
    // The documented formula, computed independently: the store already persisted hashes with it.
    const body = '{"actor":"a","at":"t","data":{},"runId":"R","seq":0,"type":"x"}';
    const expected = createHash('sha256').update(`${GENESIS_HASH}\n${body}`).digest('hex');
    expect(hashEvent(GENESIS_HASH, { runId: 'R', seq: 0, at: 't', type: 'x', actor: 'a' })).toBe(expected);
    expect(hashEvent(GENESIS_HASH, { runId: 'R', seq: 0, at: 't', type: 'x', actor: 'a' })).toBe(
      hashEvent(GENESIS_HASH, { runId: 'R', seq: 0, at: 't', type: 'x', actor: 'a', data: {} }),
    );
  });

  it('accepts an intact chain and the empty chain', () => {
    expect(verifyChain(chain(5))).toEqual({ ok: true });
    expect(verifyChain([])).toEqual({ ok: true });
  });

  it('detects an edited event', () => {
    const events = chain(5);
    events[2] = { ...events[2]!, data: { n: 99 } };
    expect(verifyChain(events)).toMatchObject({
      ok: false,
      index: 2,
      reason: expect.stringContaining('edited'),
    });
    const actor = chain(5);
    actor[4] = { ...actor[4]!, actor: 'mallory' };
    expect(verifyChain(actor)).toMatchObject({ ok: false, index: 4 });
  });

  it('detects a dropped event, even when the attacker fixes seq numbers', () => {
    const events = chain(5);
    expect(verifyChain([...events.slice(0, 2), ...events.slice(3)])).toMatchObject({ ok: false, index: 2 });
    const renumbered = [...events.slice(0, 2), ...events.slice(3)].map((e, i) => ({ ...e, seq: i }));
    expect(verifyChain(renumbered)).toMatchObject({ ok: false, index: 2 });
    expect(verifyChain(events.slice(1))).toMatchObject({ ok: false, index: 0 });
  });

  it('detects a dropped tail only against the recorded head', () => {
    const events = chain(5);
    const head = { seq: 4, hash: events[4]!.hash };
    expect(verifyChain(events.slice(0, 4))).toEqual({ ok: true });
    expect(verifyChain(events.slice(0, 4), { expectedHead: head })).toMatchObject({ ok: false, index: 4 });
    expect(verifyChain(events, { expectedHead: head })).toEqual({ ok: true });
  });

  it('names truncation, a head that does not match, and events the head does not confirm', () => {
    const events = chain(5);
    const head = { seq: 4, hash: events[4]!.hash };
    expect(verifyChain(events.slice(0, 3), { expectedHead: head })).toMatchObject({
      ok: false,
      index: 3,
      reason: expect.stringContaining('truncated'),
    });
    expect(verifyChain([], { expectedHead: head })).toMatchObject({ ok: false, index: 0 });
    expect(verifyChain(events, { expectedHead: { seq: 4, hash: 'f'.repeat(64) } })).toMatchObject({
      ok: false,
      index: 4,
      reason: expect.stringContaining('recorded head'),
    });
    expect(verifyChain(events, { expectedHead: { seq: 2, hash: events[2]!.hash } })).toMatchObject({
      ok: false,
      index: 3,
      reason: expect.stringContaining('not confirmed'),
    });
  });

  it('detects an inserted event', () => {
    const events = chain(4);
    const forged = { ...events[1]!, type: 'approval.approved', actor: 'mallory' };
    const inserted = [events[0]!, events[1]!, forged, ...events.slice(2)];
    expect(verifyChain(inserted)).toMatchObject({ ok: false, index: 2 });
    // Even a fully re-hashed forgery breaks against the recorded head.
    const relinked = relink(inserted.map((e, i) => ({ ...e, seq: i })));
    expect(verifyChain(relinked)).toEqual({ ok: true });
    expect(verifyChain(relinked, { expectedHead: { seq: 3, hash: events[3]!.hash } })).toMatchObject({
      ok: false,
    });
  });

  it('detects reordered events', () => {
    const events = chain(4);
    expect(verifyChain([events[0]!, events[2]!, events[1]!, events[3]!])).toMatchObject({
      ok: false,
      index: 1,
    });
    const swappedSeq = [events[0]!, { ...events[2]!, seq: 1 }, { ...events[1]!, seq: 2 }, events[3]!];
    expect(verifyChain(swappedSeq)).toMatchObject({ ok: false, index: 1 });
  });

  it('detects a broken link and events of another run', () => {
    const events = chain(3);
    events[1] = { ...events[1]!, prevHash: 'f'.repeat(64) };
    expect(verifyChain(events)).toMatchObject({
      ok: false,
      index: 1,
      reason: expect.stringContaining('prevHash'),
    });
    const mixed = [...chain(2, 'A'), ...chain(3, 'B').slice(2)];
    expect(verifyChain(mixed)).toMatchObject({ ok: false, index: 2, reason: expect.stringContaining('run') });
    expect(verifyChain(chain(2, 'A'), { runId: 'B' })).toMatchObject({ ok: false, index: 0 });
  });
});
