import { createHmac, timingSafeEqual } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { errorResponse, type HttpResult, header, rawBody, rawBodyLength } from '../shared/http';
import { metrics } from '../shared/middleware';
import type { WebhookContext } from './context';

export type Verified = { ok: true; body: string } | { ok: false; response: HttpResult };

/**
 * The body, once its size and its X-Hub-Signature-256 check out. Nothing is parsed before this:
 * 413 before the secret is read, 401 on any signature problem, 400 for a correctly signed body
 * that is not UTF-8.
 */
export async function verifySignedBody(
  ctx: WebhookContext,
  event: APIGatewayProxyEventV2,
  requestId: string,
): Promise<Verified> {
  const { config, log } = ctx;
  if (rawBodyLength(event) > config.maxBodyBytes) {
    log.warn('webhook body too large', { requestId, bytes: rawBodyLength(event) });
    return refused(413, 'PayloadTooLarge', `body exceeds ${config.maxBodyBytes} bytes`, requestId);
  }
  const signature = header(event, 'x-hub-signature-256');
  const bytes = rawBody(event);
  if (!signature?.startsWith('sha256=') || bytes.length === 0) {
    log.warn('webhook without a sha256 signature', { requestId });
    return refused(401, 'Unauthorized', 'missing or unsupported signature', requestId);
  }
  const secret = await ctx.secrets.get(config.webhookSecretId);
  // The signature covers the bytes: the HMAC is computed over them (a lenient UTF-8 decode first
  // would map other bytes to U+FFFD and verify a different body), compared in constant time.
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(bytes).digest('hex')}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    log.warn('webhook signature mismatch', { requestId });
    metrics.addMetric('Webhook_unauthorized', 'Count', 1);
    return refused(401, 'Unauthorized', 'signature does not match', requestId);
  }
  try {
    return { ok: true, body: utf8.decode(bytes) };
  } catch {
    // Authentic but unreadable (never GitHub's): 400 rather than 401.
    return refused(400, 'BadRequest', 'body is not UTF-8 JSON', requestId);
  }
}

const refused = (...args: Parameters<typeof errorResponse>): Verified => ({
  ok: false,
  response: errorResponse(...args),
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
