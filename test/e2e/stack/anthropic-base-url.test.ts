import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ISSUE, SAMPLE_OWNER, SAMPLE_REPO } from '../../../local/forge';
import { type ModelServer, startModel } from '../../../local/model/server';
import { anthropicFromEnv } from '../../../local/stack';
import { eventually } from '../../support/e2e';
import { killAll, type StartedStack, startChild } from './child';

/**
 * Issue 15's enabler: with ANTHROPIC_API_KEY set, `npm start` sends model calls to
 * ANTHROPIC_BASE_URL (here a recording proxy in front of a model server of the test's own), with
 * that key, and starts no stand-in of its own.
 */

const API_KEY = 'sk-ant-test-recorded-key';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Records each request and forwards it, body and all, to `target`. */
async function startRecorder(target: string): Promise<{ server: Server; url: string; seen: Recorded[] }> {
  const seen: Recorded[] = [];
  const server = createServer(async (req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name))
        headers[name] = value;
    const upstream = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    const out = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    });
    res.end(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('ANTHROPIC_BASE_URL', () => {
  it('is used only with a key, must be an http(s) URL, and loses a trailing slash', () => {
    expect(anthropicFromEnv({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' })).toEqual({});
    expect(anthropicFromEnv({ ANTHROPIC_API_KEY: 'k' })).toEqual({ anthropicApiKey: 'k' });
    expect(anthropicFromEnv({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'https://gw.example/' })).toEqual({
      anthropicApiKey: 'k',
      anthropicBaseUrl: 'https://gw.example',
    });
    expect(() => anthropicFromEnv({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'gw.example' })).toThrow(
      /ANTHROPIC_BASE_URL must be an http\(s\) URL/,
    );
  });

  describe('npm start with ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL', () => {
    let dataDir: string;
    let model: ModelServer;
    let recorder: Awaited<ReturnType<typeof startRecorder>>;
    let stack: StartedStack;

    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'base-url-e2e-'));
      model = await startModel();
      recorder = await startRecorder(model.url);
      stack = await startChild(dataDir, { ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: recorder.url });
    }, 30_000);

    afterAll(async () => {
      await killAll();
      await new Promise((resolve) => recorder?.server.close(resolve));
      await model?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it("sends a run's model calls to the given base URL with the given key", async () => {
      const response = await fetch(`${stack.ready.url}/v1/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack.ready.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: `${SAMPLE_OWNER}/${SAMPLE_REPO}`, issue: SAMPLE_ISSUE.number }),
        signal: AbortSignal.timeout(10_000),
      });
      expect(response.status).toBe(201);

      const call = await eventually(
        'a model call to reach the recording server',
        async () => recorder.seen.find((r) => r.method === 'POST' && r.url.startsWith('/v1/messages')),
        60_000,
      );
      // The SDK sends the key as x-api-key or as a bearer token, depending on its version.
      const sent = call.headers['x-api-key'] ?? call.headers.authorization?.replace(/^Bearer /, '');
      expect(sent).toBe(API_KEY);
      // The model server behind the recorder answered it: the run's calls are the test's own.
      await eventually('the model server to record the call', async () =>
        model.calls().length > 0 ? true : undefined,
      );
      // No stand-in of the stack's own was asked: every call the model saw came through the recorder.
      expect(model.calls().length).toBeLessThanOrEqual(recorder.seen.length);
    }, 90_000);
  });
});
