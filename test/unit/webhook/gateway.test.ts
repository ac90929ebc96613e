import { request } from 'node:http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBody, type Gateway, startGateway } from '../../../local/gateway';

const seen: Array<{ event: APIGatewayProxyEventV2; remaining: number }> = [];
let gateway: Gateway;

function echo(name: string) {
  return async (event: APIGatewayProxyEventV2, context: Context) => {
    seen.push({ event, remaining: context.getRemainingTimeInMillis() });
    return {
      statusCode: 200,
      headers: { 'X-Route': name },
      cookies: ['a=1; Path=/', 'b=2; Path=/'],
      body: JSON.stringify({ name }),
    };
  };
}

beforeAll(async () => {
  gateway = await startGateway({
    timeoutMs: 2_000,
    maxBodyBytes: 64 * 1024,
    routes: [
      { method: 'ANY', path: '/v1/{proxy+}', handler: echo('proxy') },
      { method: 'GET', path: '/v1/runs/{id}', handler: echo('run') },
      { method: 'POST', path: '/v1/webhooks/github', handler: echo('webhook') },
      {
        method: 'GET',
        path: '/binary',
        handler: async () => ({
          statusCode: 201,
          headers: { 'content-type': 'application/octet-stream' },
          body: Buffer.from([0, 1, 2, 255]).toString('base64'),
          isBase64Encoded: true,
        }),
      },
      {
        method: 'GET',
        path: '/slow',
        timeoutMs: 100,
        handler: () => new Promise((r) => setTimeout(r, 1_000)),
      },
      {
        method: 'GET',
        path: '/boom',
        handler: async () => {
          throw new Error('boom');
        },
      },
    ],
  });
});
afterAll(async () => {
  await gateway.close();
});

function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string | string[]>; body?: Buffer } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.url}${path}`, { method, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error('client timeout')));
    req.end(options.body);
  });
}

describe('local API Gateway', () => {
  it('builds a payload 2.0 event: route key, path parameters, headers, cookies, query', async () => {
    seen.length = 0;
    const response = await call('GET', '/v1/runs/01ABC%2Fx?repo=acme%2Fwidgets&status=QUEUED&status=FAILED', {
      headers: { 'X-Custom': ['one', 'two'], Cookie: 'session=abc; theme=dark', 'User-Agent': 'probe/1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-route']).toBe('run');
    expect(response.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const event = seen[0]?.event;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /v1/runs/{id}',
      rawPath: '/v1/runs/01ABC%2Fx',
      rawQueryString: 'repo=acme%2Fwidgets&status=QUEUED&status=FAILED',
      pathParameters: { id: '01ABC/x' },
      queryStringParameters: { repo: 'acme/widgets', status: 'QUEUED,FAILED' },
      cookies: ['session=abc', 'theme=dark'],
      requestContext: {
        http: { method: 'GET', sourceIp: '127.0.0.1', userAgent: 'probe/1' },
        stage: '$default',
      },
      isBase64Encoded: false,
    });
    expect(event?.headers['x-custom']).toBe('one,two');
    expect(event?.headers.cookie).toBeUndefined();
    expect(event?.requestContext.requestId).toBeTruthy();
    expect(seen[0]?.remaining).toBeGreaterThan(1_000);
    expect(seen[0]?.remaining).toBeLessThanOrEqual(2_000);
  });

  it('prefers the most specific route and falls back to the greedy one', async () => {
    seen.length = 0;
    await call('POST', '/v1/runs/123');
    await call('DELETE', '/v1/a/b/c');
    expect(seen.map((s) => [s.event.routeKey, s.event.pathParameters])).toEqual([
      ['ANY /v1/{proxy+}', { proxy: 'runs/123' }],
      ['ANY /v1/{proxy+}', { proxy: 'a/b/c' }],
    ]);
  });

  it('preserves raw body bytes: JSON as text, binary and invalid UTF-8 as base64', async () => {
    seen.length = 0;
    const json = Buffer.from('{"emoji":"🎉","n":1}   ', 'utf8');
    const invalid = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    await call('POST', '/v1/webhooks/github', {
      headers: { 'content-type': 'application/json' },
      body: json,
    });
    await call('POST', '/v1/webhooks/github', {
      headers: { 'content-type': 'application/json' },
      body: invalid,
    });
    await call('POST', '/v1/webhooks/github', { headers: { 'content-type': 'image/png' }, body: json });
    const [text, broken, binary] = seen.map((s) => s.event);
    expect(text?.isBase64Encoded).toBe(false);
    expect(Buffer.from(text?.body ?? '', 'utf8').equals(json)).toBe(true);
    expect(broken?.isBase64Encoded).toBe(true);
    expect(Buffer.from(broken?.body ?? '', 'base64').equals(invalid)).toBe(true);
    expect(binary?.isBase64Encoded).toBe(true);
    expect(encodeBody(Buffer.alloc(0), 'application/json')).toEqual({ isBase64Encoded: false });
  });

  it('writes base64 results as bytes', async () => {
    const response = await call('GET', '/binary');
    expect(response.status).toBe(201);
    expect([...response.body]).toEqual([0, 1, 2, 255]);
  });

  it('answers like API Gateway for unknown routes, oversized bodies, timeouts and crashes', async () => {
    const notFound = await call('GET', '/nowhere');
    expect(notFound.status).toBe(404);
    expect(JSON.parse(notFound.body.toString())).toEqual({ message: 'Not Found' });
    const tooLarge = await call('POST', '/v1/webhooks/github', { body: Buffer.alloc(65 * 1024, 0x61) });
    expect(tooLarge.status).toBe(413);
    // Like the handlers' answers, the gateway's own refusal names its request.
    expect(tooLarge.headers['x-request-id']).toMatch(/\S+/);
    expect(tooLarge.headers['x-request-id']).toBe(tooLarge.headers['apigw-requestid']);
    const slow = await call('GET', '/slow');
    expect(slow.status).toBe(504);
    const boom = await call('GET', '/boom');
    expect(boom.status).toBe(500);
    expect(JSON.parse(boom.body.toString())).toEqual({ message: 'Internal Server Error' });
  });
});
