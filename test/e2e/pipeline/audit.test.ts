import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import { keys } from '../../../functions/shared/store/keys';
import { createDocumentClient } from '../../../functions/shared/store/table';
import { sampleScript } from '../../../local/model/scripts';
import { type Stack, TABLE_NAME } from '../../../local/stack';
import { localClient } from '../../support/dynamodb';
import { eventually, startTestStack } from '../../support/e2e';
import { decideRun, eventsOf, eventTypes, finished, sandbox, startScenario } from './support';

/** `code-factory audit verify` on a run the whole pipeline wrote, then on its table tampered with. */
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function verify(runId: string) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  const code = await main(
    ['audit', 'verify', runId, '--url', stack.url, '--api-key', stack.apiKey ?? ''],
    io,
  );
  return { code, out: out.join(''), err: err.join('') };
}

describe('audit verify on a finished run', () => {
  it('is intact, then reports an altered event, then the truncation of the last one', async () => {
    const box = await sandbox(stack, 'audit');
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId);
    expect(done.status).toBe('SUCCEEDED');
    // finalize writes the status and then its event: wait for the chain to be complete.
    await eventually('run.finished', async () =>
      (await eventTypes(stack, run.runId)).includes('run.finished'),
    );
    const events = await eventsOf(stack, run.runId);
    const last = events.at(-1);
    expect(last?.type).toBe('run.finished');

    const intact = await verify(run.runId);
    expect(intact.code).toBe(0);
    expect(intact.out.trim()).toBe(`intact, ${events.length} events, head ${last?.hash}`);

    const client = localClient(stack.endpoints.dynamodb);
    const doc = createDocumentClient(client);
    try {
      const victim = events[3];
      await doc.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: keys.runEvent(run.runId, 3),
          UpdateExpression: 'SET #type = :type',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':type': 'approval.approved' },
        }),
      );
      const altered = await verify(run.runId);
      expect(altered.code).toBe(1);
      expect(altered.out).toMatch(/^broken at event 3 \(seq 3, approval\.approved\): hash does not match/);
      // Put it back, then cut the last event off.
      await doc.send(
        new UpdateCommand({
          TableName: TABLE_NAME,
          Key: keys.runEvent(run.runId, 3),
          UpdateExpression: 'SET #type = :type',
          ExpressionAttributeNames: { '#type': 'type' },
          ExpressionAttributeValues: { ':type': victim?.type },
        }),
      );
      expect((await verify(run.runId)).code).toBe(0);
      await doc.send(
        new DeleteCommand({ TableName: TABLE_NAME, Key: keys.runEvent(run.runId, last?.seq ?? 0) }),
      );
      const truncated = await verify(run.runId);
      expect(truncated.code).toBe(1);
      expect(truncated.out).toContain('truncated');
      expect(truncated.out).toContain(`recorded head is seq ${last?.seq}`);
    } finally {
      client.destroy();
    }
  }, 120_000);
});
