import { createHash } from 'node:crypto';
import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import { hashEvent } from '../../../functions/shared/domain/audit';
import type { Run } from '../../../functions/shared/domain/run';
import { keys } from '../../../functions/shared/store/keys';
import { type ApiHarness, startApiHarness } from '../../integration/api/support';

// `code-factory audit verify` through main(), against the API on dynalite; the table is then
// tampered with directly, as someone with write access to it could.
let api: ApiHarness;
let key: string;

beforeAll(async () => {
  api = await startApiHarness();
  key = await api.key(['runs:read'], ['acme/*'], 'auditor');
});

afterAll(async () => {
  await api?.close();
});

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const connection = () => ['--url', api.gateway.url, '--api-key', key];

/** A run that went through its pipeline: events appended by the store as the stages do, then SUCCEEDED. */
async function finishedRun(issueNumber: number, events = 6): Promise<Run> {
  const run = await api.seedRun({ repo: 'acme/audited', issueNumber });
  const types = ['run.created', 'stage.entered', 'plan.ready', 'stage.entered', 'pr.opened', 'run.succeeded'];
  for (let i = 0; i < events; i++) {
    await api.dynamo.store.appendEvent(run.runId, {
      type: types[i % types.length] as string,
      actor: 'stages',
      data: { step: i, note: 'ünïcode ✓' },
    });
  }
  return api.dynamo.store.updateRun(run.runId, run.version, { status: 'SUCCEEDED', endedAt: run.createdAt });
}

async function verify(runId: string, ...extra: string[]) {
  const c = collector();
  const code = await main(['audit', 'verify', runId, ...extra, ...connection()], c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('code-factory audit verify', () => {
  it('prints "intact, N events, head H" for a finished run and exits 0', async () => {
    const run = await finishedRun(1);
    const events = await api.dynamo.store.listEvents(run.runId, { limit: 50 });
    const last = events.items.at(-1);
    const result = await verify(run.runId);
    expect(result.code).toBe(0);
    expect(result.out.trim()).toBe(`intact, 6 events, head ${last?.hash}`);
  });

  it('follows the chain over many pages', async () => {
    const run = await finishedRun(2, 130);
    const result = await verify(run.runId, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ intact: true, events: 130, head: { seq: 129 } });
  });

  it('reports the first bad event after one event item is altered in the table, and exits 1', async () => {
    const run = await finishedRun(3);
    await api.dynamo.doc.send(
      new UpdateCommand({
        TableName: api.dynamo.tableName,
        Key: keys.runEvent(run.runId, 2),
        UpdateExpression: 'SET actor = :actor',
        ExpressionAttributeValues: { ':actor': 'mallory' },
      }),
    );
    const result = await verify(run.runId);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^broken at event 2 \(seq 2, plan\.ready\): hash does not match the content/);
    const json = await verify(run.runId, '--json');
    expect(JSON.parse(json.out)).toMatchObject({ intact: false, first_bad: { index: 2, seq: 2 } });
  });

  it('reports truncation when the last event item is deleted, and exits 1', async () => {
    const run = await finishedRun(4);
    await api.dynamo.doc.send(
      new DeleteCommand({ TableName: api.dynamo.tableName, Key: keys.runEvent(run.runId, 5) }),
    );
    const result = await verify(run.runId);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^broken after event 4: chain ends at seq 4, but the recorded head is seq 5/);
    expect(result.out).toContain('truncated');
  });

  it('reports a relinked forgery: an inserted event re-hashed by someone who knows the formula', async () => {
    const run = await finishedRun(5);
    // Rewrite the last event with other content and a correct hash: the chain is internally
    // valid, but it no longer ends at the head the run item recorded.
    const events = (await api.dynamo.store.listEvents(run.runId, { limit: 50 })).items;
    const last = events.at(-1);
    const hash = hashEvent(last?.prevHash ?? '', { ...(last as NonNullable<typeof last>), actor: 'mallory' });
    await api.dynamo.doc.send(
      new UpdateCommand({
        TableName: api.dynamo.tableName,
        Key: keys.runEvent(run.runId, 5),
        UpdateExpression: 'SET actor = :actor, #hash = :hash',
        ExpressionAttributeNames: { '#hash': 'hash' },
        ExpressionAttributeValues: { ':actor': 'mallory', ':hash': hash },
      }),
    );
    const result = await verify(run.runId);
    expect(result.code).toBe(1);
    expect(result.out).toMatch(/^broken at event 5 .*recorded head/);
  });

  it('exits 2 on usage errors: no run id, a malformed one, an unknown run, no URL', async () => {
    expect(await main(['audit', 'verify'], collector().io)).toBe(2);
    expect((await verify('not-a-run')).code).toBe(2);
    const unknown = await verify('01JZZZZZZZZZZZZZZZZZZZZZZZ');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/404 NotFound/);
    const saved = process.env.FACTORY_URL;
    delete process.env.FACTORY_URL;
    try {
      const c = collector();
      expect(await main(['audit', 'verify', '01JZZZZZZZZZZZZZZZZZZZZZZZ', '--api-key', key], c.io)).toBe(2);
      expect(c.err()).toMatch(/FACTORY_URL/);
    } finally {
      if (saved !== undefined) process.env.FACTORY_URL = saved;
    }
  });

  it('matches the formula of docs/api.md, re-implemented here from the text alone', async () => {
    const run = await finishedRun(6, 3);
    const answer = await api.call('GET', `/v1/runs/${run.runId}/audit`, { key });
    expect(answer.status).toBe(200);
    const canonical = (value: unknown): string => {
      if (value === null || typeof value !== 'object') return JSON.stringify(value);
      if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
      return `{${Object.keys(value)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
        .join(',')}}`;
    };
    let prev = '0'.repeat(64);
    for (const event of answer.json.data.events) {
      const body = canonical({
        runId: run.runId,
        seq: event.seq,
        at: event.at,
        type: event.type,
        actor: event.actor,
        data: event.data ?? {},
      });
      const hash = createHash('sha256').update(`${prev}\n${body}`, 'utf8').digest('hex');
      expect(event.prev_hash).toBe(prev);
      expect(event.hash).toBe(hash);
      prev = hash;
    }
    expect(answer.json.data.head).toEqual({ seq: 2, hash: prev });
  });
});
