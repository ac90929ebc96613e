import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { verify } from '@octokit/webhooks-methods';
import { Octokit } from 'octokit';

export const WEBHOOK_SECRET = 'forge-test-secret';

/** Octokit as the factory builds it, minus the throttling plugin's pacing of writes. */
export const octokitFor = (apiUrl: string, token?: string): Octokit =>
  new Octokit({
    baseUrl: apiUrl,
    ...(token ? { auth: token } : {}),
    throttle: { enabled: false },
    retry: { enabled: false },
  });

/** The HTTP status of a failed Octokit call. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
}

export interface ReceivedHook {
  event: string;
  delivery: string;
  hookId: string;
  userAgent: string;
  contentType: string;
  signature: string;
  verified: boolean;
  body: string;
  payload: Record<string, unknown>;
}

/** A webhook receiver that verifies each signature over the raw body before parsing it. */
export interface Receiver {
  url: string;
  hooks: ReceivedHook[];
  /** Answer the next `count` requests with 500. */
  failNext(count: number): void;
  close(): Promise<void>;
}

export async function startReceiver(secret = WEBHOOK_SECRET): Promise<Receiver> {
  const hooks: ReceivedHook[] = [];
  let failures = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      if (failures > 0) {
        failures -= 1;
        response.writeHead(500).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(request.headers['x-hub-signature-256'] ?? '');
      const verified = await verify(secret, body, signature).catch(() => false);
      hooks.push({
        event: String(request.headers['x-github-event']),
        delivery: String(request.headers['x-github-delivery']),
        hookId: String(request.headers['x-github-hook-id']),
        userAgent: String(request.headers['user-agent']),
        contentType: String(request.headers['content-type']),
        signature,
        verified,
        body,
        payload: verified ? (JSON.parse(body) as Record<string, unknown>) : {},
      });
      response.writeHead(verified ? 202 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    hooks,
    failNext: (count) => {
      failures = count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `probe` until it returns a value (bounded). */
export async function waitFor<T>(
  probe: () => T | undefined,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const execFileAsync = promisify(execFile);

/** The system git binary, asynchronously (a synchronous call would block the in-process forge). */
export async function systemGit(
  args: string[],
  options: { cwd?: string; input?: string } = {},
): Promise<string> {
  if (options.input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = execFile('git', args, { cwd: options.cwd, timeout: 20_000 }, (error, stdout) =>
        error ? reject(error) : resolve(stdout),
      );
      child.stdin?.end(options.input);
    });
  }
  const { stdout } = await execFileAsync('git', args, {
    cwd: options.cwd,
    timeout: 20_000,
    env: { ...process.env, GIT_TERMINAL_PROMPT: '0' },
  });
  return stdout;
}
