import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Verifies an AWS Signature Version 4 `Authorization` header the way AWS does, so the Bedrock
 * stand-in accepts only requests signed with the stack's credentials for the `bedrock` service
 * (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html).
 * Returns why a request is refused, or undefined when its signature is valid.
 */

export interface SignedRequest {
  method: string;
  /** The path as sent (still percent-encoded). */
  rawPath: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_SKEW_MS = 5 * 60_000;

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
/** RFC 3986 encoding as AWS does it (encodeURIComponent leaves !'()* alone). */
const uriEscape = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function verifySigV4(
  request: SignedRequest,
  credentials: { accessKeyId: string; secretAccessKey: string },
  service: string,
  now = Date.now(),
): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? AUTH.exec(header) : null;
  if (!match) return 'Authorization header requires a AWS4-HMAC-SHA256 signature';
  const [, accessKeyId, day, region, scopeService, signedList, signature] = match as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId)
    return 'The security token included in the request is invalid.';
  if (scopeService !== service) return `Credential should be scoped to correct service: '${service}'.`;
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const at = Date.parse(
    amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
  );
  if (!Number.isFinite(at) || !amzDate.startsWith(day ?? ''))
    return 'X-Amz-Date is missing or does not match the credential scope';
  if (Math.abs(now - at) > MAX_SKEW_MS)
    return 'Signature expired: the request time is too far from the server time';
  const signed = (signedList ?? '').split(';');
  if (!signed.includes('host') || !signed.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const canonicalHeaders = signed
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${String(text).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalPath = uriEscape(request.rawPath).replace(/%2F/g, '/');
  const canonicalQuery = [...request.query.entries()]
    .map(([k, v]) => [uriEscape(k), uriEscape(v)])
    .sort(([a = '', x = ''], [b = '', y = '']) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? sha256(request.body));
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath,
    canonicalQuery,
    canonicalHeaders,
    signed.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day ?? ''), region ?? ''), service),
    'aws4_request',
  );
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(signature ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.';
  return undefined;
}
