import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { LambdaHttpHandler } from './gateway';

/**
 * `GET /local/info` on the embedded stack's gateway: where the forge is and the sample users'
 * tokens, so `code-factory local as USER …` can act as them without digging in the forge's state
 * file. Only here, in local/: a deployment has no such route (test/infra/api.test.ts). Even
 * locally it answers only a loopback client that names a loopback host, so a web page that
 * rebinds its own name to 127.0.0.1 cannot read it (and it sends no CORS headers).
 */
export interface LocalInfo {
  url: string;
  forgeUrl: string;
  forgeApiUrl: string;
  consoleUrl: string;
  mailUrl: string;
  /** The forge's users with a token, the bot's excluded (it is the factory's own secret). */
  users(): Record<string, string>;
}

const LOOPBACK_IP = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1)$/;
const LOOPBACK_HOST = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])(:\d{1,5})?$/i;

export function isLoopbackRequest(event: APIGatewayProxyEventV2): boolean {
  const host = event.headers?.host ?? '';
  return LOOPBACK_IP.test(event.requestContext?.http?.sourceIp ?? '') && LOOPBACK_HOST.test(host);
}

const json = (statusCode: number, body: unknown) => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export function localInfoHandler(info: LocalInfo): LambdaHttpHandler {
  return async (event) => {
    if (!isLoopbackRequest(event)) {
      return json(403, { error: { code: 'Forbidden', message: 'local-only: ask from this machine' } });
    }
    return json(200, {
      data: {
        url: info.url,
        forge_url: info.forgeUrl,
        forge_api_url: info.forgeApiUrl,
        console_url: info.consoleUrl,
        mail_url: info.mailUrl,
        users: Object.entries(info.users()).map(([login, token]) => ({ login, token })),
      },
    });
  };
}
