import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { localInfoHandler } from '../../../local/info';

const handler = localInfoHandler({
  url: 'http://127.0.0.1:8080',
  forgeUrl: 'http://127.0.0.1:9000',
  forgeApiUrl: 'http://127.0.0.1:9000/api/v3',
  consoleUrl: 'http://127.0.0.1:9100',
  mailUrl: 'http://127.0.0.1:9200',
  users: () => ({ alice: 'ghp_alice', bob: 'ghp_bob' }),
});

function event(sourceIp: string, host: string): APIGatewayProxyEventV2 {
  return {
    headers: { host },
    requestContext: { http: { method: 'GET', path: '/local/info', sourceIp } },
  } as unknown as APIGatewayProxyEventV2;
}

async function status(sourceIp: string, host: string) {
  const result = (await handler(event(sourceIp, host), {} as Context)) as {
    statusCode: number;
    body: string;
  };
  return result;
}

describe('GET /local/info', () => {
  it('answers a loopback client naming a loopback host, with the users’ tokens', async () => {
    for (const [ip, host] of [
      ['127.0.0.1', '127.0.0.1:8080'],
      ['::1', 'localhost:8080'],
      ['127.0.0.1', '[::1]:8080'],
    ] as const) {
      const answer = await status(ip, host);
      expect(answer.statusCode, `${ip} ${host}`).toBe(200);
      expect(JSON.parse(answer.body).data.users).toEqual([
        { login: 'alice', token: 'ghp_alice' },
        { login: 'bob', token: 'ghp_bob' },
      ]);
    }
  });

  it('refuses another machine, and a page that rebound its own name to 127.0.0.1', async () => {
    for (const [ip, host] of [
      ['10.0.0.7', '127.0.0.1:8080'],
      ['192.168.1.2', 'localhost:8080'],
      ['127.0.0.1', 'evil.example:8080'],
      ['127.0.0.1', 'localhost.evil.example'],
      ['127.0.0.1', ''],
    ] as const) {
      const answer = await status(ip, host);
      expect(answer.statusCode, `${ip} ${host}`).toBe(403);
      expect(answer.body).not.toContain('ghp_');
    }
  });
});
