import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../local/stack';
import { eventually, labelIssue, startTestStack } from '../../support/e2e';

/**
 * A restart on the same data dir without FACTORY_WEBHOOK_SECRET: the forge must sign with the
 * secret the webhook handler reads from the (persisted) secrets store, or no delivery verifies.
 */
describe('restart on the same data dir (no explicit webhook secret, no --port)', () => {
  let dataDir = '';
  let stack: Stack | undefined;

  afterAll(async () => {
    await stack?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('still verifies the forge’s deliveries: a label after the restart starts a run', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'restart-secrets-'));
    const first = await startTestStack({ dataDir });
    const before = { forge: first.forge.url, gateway: first.url };
    await first.stop();

    stack = await startTestStack({ dataDir });
    // The same ports again, so PR and approval links stored with the data still open.
    expect({ forge: stack.forge.url, gateway: stack.url }).toEqual(before);
    await labelIssue(stack, 'alice');
    const run = await eventually(
      'a run on acme/widgets#1',
      async () => (await stack?.store.listRunsByRepo('acme/widgets', { limit: 5 }))?.items[0],
      20_000,
    );
    expect(run.issueNumber).toBe(1);
    expect(run.trigger.sender).toBe('alice');
  }, 90_000);
});
