import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleScript } from '../../local/model/scripts';
import type { Stack } from '../../local/stack';
import { startTestStack } from '../support/e2e';
import { decideRun, eventTypes, finished, sandbox, startScenario } from '../e2e/pipeline/support';

/**
 * GitHub never redelivers a webhook on its own: a check_suite / workflow_run delivery that fails
 * is lost. A run waiting on CI must still go on, found by its own re-read (decision 0006).
 */

const CI_EVENTS = new Set(['check_suite', 'check_run', 'workflow_run']);

let stack: Stack;
let gate: Server;
const dropped: Array<{ event: string; repo: string }> = [];

beforeAll(async () => {
  stack = await startTestStack({ maxWaitSeconds: { checksRecheckSeconds: 2 } });
  // Between the forge and the factory: CI deliveries answered 502 (the endpoint was down), the rest passed on.
  gate = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const event = String(request.headers['x-github-event']);
      if (CI_EVENTS.has(event)) {
        const repo = String(JSON.parse(body.toString('utf8')).repository?.full_name);
        dropped.push({ event, repo });
        response.writeHead(502).end();
        return;
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === 'string' && name !== 'host' && name !== 'content-length') headers[name] = value;
      fetch(stack.webhookUrl, { method: 'POST', headers, body })
        .then(async (answer) => response.writeHead(answer.status).end(await answer.text()))
        .catch(() => response.writeHead(502).end());
    });
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  stack.forge.actions.setWebhookUrl(`http://127.0.0.1:${(gate.address() as AddressInfo).port}/`);
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => gate?.close(resolve));
  await stack?.stop();
});

describe('a lost CI webhook', () => {
  it('delays a run by one re-read, not until its checks timeout', async () => {
    const box = await sandbox(stack, 'lost-webhook');
    const run = await startScenario(stack, box, sampleScript);
    expect(await decideRun(stack, run.runId, 'approve')).toBe(200);
    const done = await finished(stack, run.runId, 60_000);
    expect(done.status).toBe('SUCCEEDED');
    // Every completion of this repo's CI was lost, and the forge, like GitHub, did not retry it.
    const lost = dropped.filter((d) => d.repo.toLowerCase() === box.full.toLowerCase());
    expect(lost.map((d) => d.event)).toEqual(expect.arrayContaining(['check_suite', 'workflow_run']));
    const attempts = stack.forge
      .deliveries()
      .filter((d) => d.event === 'check_suite')
      .map((d) => d.attempts.length);
    expect(attempts.every((n) => n === 1)).toBe(true);
    // The wait found CI's result by re-reading it.
    const types = await eventTypes(stack, run.runId);
    expect(types).toContain('checks.reread');
    expect(types.indexOf('checks.reread')).toBeLessThan(types.indexOf('run.finished'));
  }, 90_000);
});
