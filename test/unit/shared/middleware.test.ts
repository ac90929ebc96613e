import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { log, metrics, withEventMiddleware, withHttpMiddleware } from '../../../functions/shared/middleware';

const event = {
  rawPath: '/x',
  headers: {},
  requestContext: { requestId: 'req-1', http: { method: 'GET', path: '/x' } },
} as unknown as APIGatewayProxyEventV2;
const context = { functionName: 'f', awsRequestId: 'a', getRemainingTimeInMillis: () => 1000 } as Context;

// The test setup disables EMF output (POWERTOOLS_METRICS_DISABLED); these tests need to see it.
const switchable = metrics as unknown as { disabled: boolean; console: Console };

describe('withHttpMiddleware', () => {
  beforeEach(() => {
    switchable.disabled = false;
  });
  afterEach(() => {
    switchable.disabled = true;
    vi.restoreAllMocks();
  });

  it('publishes nothing (and warns about nothing) for a request that recorded no metric', async () => {
    const emitted = vi.spyOn(switchable.console, 'log');
    const warned = vi.spyOn(switchable.console, 'warn');
    const handler = withHttpMiddleware(async () => ({ statusCode: 204 }));
    const response = await handler(event, context);
    expect(response).toEqual({ statusCode: 204 });
    expect(emitted).not.toHaveBeenCalled();
    expect(warned).not.toHaveBeenCalled();
  });

  it('publishes the metrics a request recorded', async () => {
    const emitted = vi.spyOn(switchable.console, 'log').mockImplementation(() => undefined);
    const handler = withHttpMiddleware(async () => {
      metrics.addMetric('Probe', 'Count', 2);
      return { statusCode: 200 };
    });
    await handler(event, context);
    expect(emitted).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(emitted.mock.calls[0]?.[0]))).toMatchObject({ Probe: 2 });
  });

  it('answers an unhandled error with the 500 envelope, no internals, and counts it', async () => {
    const emitted = vi.spyOn(switchable.console, 'log').mockImplementation(() => undefined);
    const handler = withHttpMiddleware(async () => {
      throw new Error('secret internal detail at /var/task/index.mjs');
    });
    const response = await handler(event, context);
    expect(response.statusCode).toBe(500);
    expect(String(response.body)).not.toContain('secret internal detail');
    expect(JSON.parse(String(response.body))).toMatchObject({ error: { code: 'InternalError' } });
    expect(JSON.parse(String(emitted.mock.calls[0]?.[0]))).toMatchObject({ UnhandledError: 1 });
  });

  it("gives an event handler its own Lambda context in log lines, not the previous request's", async () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    await withHttpMiddleware(async () => ({ statusCode: 204 }))(event, { ...context, functionName: 'web' });
    const worker = withEventMiddleware(async (input: { n: number }) => {
      log.info('worker line', { n: input.n });
      return input.n + 1;
    });
    const result = await worker({ n: 1 }, { ...context, functionName: 'llm-worker' });
    vi.mocked(process.stdout.write).mockRestore();
    expect(result).toBe(2);
    const line = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.message === 'worker line');
    expect(line).toMatchObject({ function_name: 'llm-worker', n: 1 });
  });
});
