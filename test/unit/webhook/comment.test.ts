import { describe, expect, it } from 'vitest';
import { courtesyComment } from '../../../functions/webhook/comment';
import { makeWebhookContext } from './helpers';

function capturingLog() {
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  const log = {
    debug() {},
    info() {},
    error() {},
    warn: (m: string, e?: Record<string, unknown>) => warnings.push([m, e]),
  };
  return { log, warnings };
}

describe('courtesyComment', () => {
  it('posts the comment', async () => {
    const { ctx, github } = makeWebhookContext();
    await courtesyComment(ctx, 'acme/widgets', 3, 'hello');
    expect(github.comments).toEqual([{ repo: 'acme/widgets', issueNumber: 3, body: 'hello' }]);
  });

  it('stops waiting for a slow GitHub after commentTimeoutMs, and says so in the log', async () => {
    const { ctx, github } = makeWebhookContext({ commentTimeoutMs: 20 });
    const { log, warnings } = capturingLog();
    ctx.log = log;
    github.createComment = () => new Promise(() => {});
    const started = Date.now();
    await courtesyComment(ctx, 'acme/widgets', 3, 'hello');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(warnings).toEqual([['comment timed out', { repo: 'acme/widgets', issueNumber: 3 }]]);
  });

  it('never fails the delivery: a GitHub error is logged by name', async () => {
    const { ctx, github } = makeWebhookContext();
    const { log, warnings } = capturingLog();
    ctx.log = log;
    github.createComment = () =>
      Promise.reject(Object.assign(new Error('rate limited'), { name: 'HttpError' }));
    await expect(courtesyComment(ctx, 'acme/widgets', 3, 'hello')).resolves.toBeUndefined();
    expect(warnings).toEqual([
      ['comment failed', { repo: 'acme/widgets', issueNumber: 3, error: 'HttpError' }],
    ]);
  });
});
