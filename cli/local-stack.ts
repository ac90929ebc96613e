/**
 * The running embedded stack (npm start) as the `code-factory local …` commands reach it: its
 * local-only `GET /local/info` (where the forge is, the sample users' tokens) and JSON calls to it
 * and to the forge's GitHub REST API, each timed out.
 */

const TIMEOUT_MS = 15_000;

export class RemoteError extends Error {}

export interface StackInfo {
  forge_url: string;
  forge_api_url: string;
  users: Array<{ login: string; token: string }>;
}

export async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown } = {},
): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/vnd.github+json',
        ...(init.token ? { authorization: `token ${init.token}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new RemoteError(
      `cannot reach ${new URL(url).origin}: ${error instanceof Error ? error.message : ''}`,
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  if (!response.ok) {
    const detail = body as { message?: unknown; error?: { message?: unknown } };
    const message = detail.error?.message ?? detail.message ?? text.slice(0, 200);
    throw new RemoteError(
      `${init.method ?? 'GET'} ${new URL(url).pathname}: ${response.status} ${String(message)}`,
    );
  }
  return body as Record<string, unknown>;
}

export async function stackInfo(url: string): Promise<StackInfo> {
  const base = url.replace(/\/+$/, '');
  try {
    const answer = (await call(`${base}/local/info`)) as { data?: StackInfo };
    if (!answer.data?.forge_api_url || !Array.isArray(answer.data.users)) throw new RemoteError('no forge');
    return answer.data;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new RemoteError(`${base} is not a running embedded stack (npm start) answering locally: ${why}`);
  }
}
