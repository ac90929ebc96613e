import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { header } from '../shared/http';

/**
 * Did a decision POST come from the approval page itself? Browsers send `Origin` on every form POST
 * and (Chrome, Edge, Firefox, Safari 16.4+) `Sec-Fetch-Site`; page scripts can forge neither. So a
 * form another site submits, even with leaked tokens, or one submitted from a sandboxed frame, is
 * `cross-origin`. A client that sends neither header (curl, a script) is `unknown`: judged by the
 * link and form tokens alone, as before.
 *
 * `Origin: null` is what a browser sends when it withholds the origin (a `no-referrer` page, privacy
 * settings); it passes only when `Sec-Fetch-Site` vouches for the same origin.
 */
export type OriginVerdict = 'same-origin' | 'cross-origin' | 'unknown';

export function originVerdict(
  event: Pick<APIGatewayProxyEventV2, 'headers'>,
  pageOrigin: string,
): OriginVerdict {
  const fetchSite = header(event, 'sec-fetch-site')?.trim().toLowerCase();
  const origin = header(event, 'origin')?.trim();
  if (fetchSite === undefined && origin === undefined) return 'unknown';
  // `same-site` is not enough: other tenants' APIs can share the site (execute-api.<region>.amazonaws.com).
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return 'cross-origin';
  if (origin === undefined) return 'same-origin';
  if (origin === 'null') return fetchSite === 'same-origin' ? 'same-origin' : 'cross-origin';
  // Browsers serialize it exactly as `URL#origin` does: scheme and host lower-case, default port dropped.
  return origin.toLowerCase() === pageOrigin ? 'same-origin' : 'cross-origin';
}

/** `scheme://host[:port]` of the page's base URL, as a browser would send it in `Origin`. */
export function originOf(baseUrl: string): string {
  return new URL(baseUrl).origin;
}
