import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { metrics, withHttpMiddleware } from '../../../functions/shared/middleware';

const event = {
  rawPath: '/x',
  headers: {},
  requestContext: { requestId: 'req-1', http: { method: 'GET', path: '/x' } },
} as unknown as APIGatewayProxyEventV2;
const context = { functionName: 'f', awsRequestId: 'a', getRemainingTimeInMillis: () => 1000 } as Context;

// The test setup disables EMF output (POWERTOOLS_METRICS_DISABLED); these tests need to see it.
const switchable = metrics as unknown as { disabled: boolean };

describe('withHttpMiddleware', () => {
  beforeEach(() => {
    switchable.disabled = false;
  });
  afterEach(() => {
    switchable.disabled = true;
    vi.restoreAllMocks();
  });

  it('publishes nothing (and warns about nothing) for a request that recorded no metric', async () => {
    const emitted = vi.spyOn(metrics.console, 'log');
    const warned = vi.spyOn(metrics.console, 'warn');
    const handler = withHttpMiddleware(async () => ({ statusCode: 204 }));
    const response = await handler(event, context);
    expect(response).toEqual({ statusCode: 204 });
    expect(emitted).not.toHaveBeenCalled();
    expect(warned).not.toHaveBeenCalled();
  });

  it('publishes the metrics a request recorded', async () => {
    const emitted = vi.spyOn(metrics.console, 'log').mockImplementation(() => undefined);
    const handler = withHttpMiddleware(async () => {
      metrics.addMetric('Probe', 'Count', 2);
      return { statusCode: 200 };
    });
    await handler(event, context);
    expect(emitted).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(emitted.mock.calls[0]?.[0]))).toMatchObject({ Probe: 2 });
  });

  it('answers an unhandled error with the 500 envelope, no internals, and counts it', async () => {
    const emitted = vi.spyOn(metrics.console, 'log').mockImplementation(() => undefined);
    const handler = withHttpMiddleware(async () => {
      throw new Error('secret internal detail at /var/task/index.mjs');
    });
    const response = await handler(event, context);
    expect(response.statusCode).toBe(500);
    expect(String(response.body)).not.toContain('secret internal detail');
    expect(JSON.parse(String(response.body))).toMatchObject({ error: { code: 'InternalError' } });
    expect(JSON.parse(String(emitted.mock.calls[0]?.[0]))).toMatchObject({ UnhandledError: 1 });
  });
});
