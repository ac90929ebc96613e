import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { sign, verify } from '@octokit/webhooks-methods';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { achievedRate, type LatencySummary, summarize } from './stats';

/**
 * An open-loop load generator for signed GitHub deliveries: request i is sent at start + i/rate
 * whether or not earlier ones were answered, and its latency is measured from that scheduled time
 * (so a stalled server cannot hide its queueing: no coordinated omission).
 */

export interface Delivery {
  event: string;
  deliveryId: string;
  body: string;
}

export interface LoadResult {
  sent: number;
  answered: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
  /** Answers per second from the first scheduled send to the last answer. */
  achievedPerSecond: number;
  targetPerSecond: number;
  /** How late the generator itself sent, p99 (ms): large values mean the client was the limit. */
  sendLagP99Ms: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

function post(
  agent: Agent,
  url: URL,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', reject);
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs each delivery once up front, so signing is not part of the measured path. */
export async function signAll(
  secret: string,
  deliveries: Delivery[],
): Promise<Array<Delivery & { signature: string }>> {
  const signatures = new Map<string, string>();
  const out: Array<Delivery & { signature: string }> = [];
  for (const d of deliveries) {
    let signature = signatures.get(d.body);
    if (!signature) {
      signature = await sign(secret, d.body);
      signatures.set(d.body, signature);
    }
    out.push({ ...d, signature });
  }
  return out;
}

export async function openLoop(
  targetUrl: string,
  deliveries: Array<Delivery & { signature: string }>,
  ratePerSecond: number,
): Promise<LoadResult> {
  const url = new URL(targetUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const intervalMs = 1000 / ratePerSecond;
  const latencies: number[] = [];
  const lags: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let lastAnswer = 0;
  const start = performance.now() + 20;
  const pending: Array<Promise<void>> = [];

  for (let i = 0; i < deliveries.length; i++) {
    const delivery = deliveries[i] as Delivery & { signature: string };
    const scheduled = start + i * intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    lags.push(Math.max(0, performance.now() - scheduled));
    pending.push(
      post(
        agent,
        url,
        {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/bench',
          'x-github-event': delivery.event,
          'x-github-delivery': delivery.deliveryId,
          'x-hub-signature-256': delivery.signature,
        },
        delivery.body,
      ).then(
        ({ status }) => {
          const now = performance.now();
          latencies.push(now - scheduled);
          lastAnswer = Math.max(lastAnswer, now);
          statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
        },
        () => {
          errors += 1;
        },
      ),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return {
    sent: deliveries.length,
    answered: latencies.length,
    errors,
    statuses,
    latencyMs: summarize(latencies),
    achievedPerSecond: achievedRate(latencies.length, lastAnswer - start),
    targetPerSecond: ratePerSecond,
    sendLagP99Ms: summarize(lags).p99,
  };
}

/** The floor: node:http that verifies the signature over the raw body and answers 200. */
export async function startBareVerifier(secret: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['x-hub-signature-256'] ?? '');
      verify(secret, body, signature).then(
        (ok) => {
          res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
          res.end(ok ? '{"ok":true}' : '{"ok":false}');
        },
        () => {
          res.writeHead(400);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const newDeliveryId = (): string => randomUUID();
