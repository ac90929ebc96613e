import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { apiEvent, makeWebhook, newDeliveryId, parseBody, signedEvent, TEST_SECRET } from './helpers';

describe('webhook signature verification', () => {
  it("matches GitHub's published test vector", async () => {
    // docs.github.com, "Validating webhook deliveries".
    const signature = await sign("It's a Secret to Everybody", 'Hello, World!');
    expect(signature).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  });

  it('accepts the vector through the handler, then answers 400 because the body is not JSON', async () => {
    const { invoke, store, secrets } = makeWebhook();
    const ok = apiEvent('Hello, World!', {
      'x-github-event': 'issues',
      'x-github-delivery': newDeliveryId(),
      'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    });
    // The handler's secret is the test secret, so use a handler built on the vector's secret.
    secrets.get = async () => "It's a Secret to Everybody";
    const response = await invoke(ok);
    expect(response.statusCode).toBe(400);
    expect(parseBody(response).error?.code).toBe('BadRequest');
    expect(store.calls).toEqual([]);
  });

  const payload = JSON.stringify({ action: 'labeled', zen: 'Keep it logically awesome.', n: 1 });
  const refusals: Array<[string, () => Promise<Record<string, string>>]> = [
    ['missing header', async () => ({})],
    ['sha1= only', async () => ({ 'x-hub-signature': 'sha1=0123456789abcdef0123456789abcdef01234567' })],
    ['sha1 value in the sha256 header', async () => ({ 'x-hub-signature-256': 'sha1=0123456789abcdef' })],
    ['wrong secret', async () => ({ 'x-hub-signature-256': await sign('not-the-secret', payload) })],
    [
      'flipped byte in the signature',
      async () => {
        const good = await sign(TEST_SECRET, payload);
        const last = good.at(-1) === '0' ? '1' : '0';
        return { 'x-hub-signature-256': good.slice(0, -1) + last };
      },
    ],
    ['empty signature', async () => ({ 'x-hub-signature-256': 'sha256=' })],
  ];

  for (const [name, headersOf] of refusals) {
    it(`answers 401 with no write for: ${name}`, async () => {
      const { invoke, store, workflow, github } = makeWebhook();
      const response = await invoke(
        apiEvent(payload, {
          'x-github-event': 'issues',
          'x-github-delivery': newDeliveryId(),
          ...(await headersOf()),
        }),
      );
      expect(response.statusCode).toBe(401);
      expect(parseBody(response).error).toMatchObject({ code: 'Unauthorized' });
      expect(response.headers['x-request-id']).toBeTruthy();
      expect(store.calls).toEqual([]);
      expect(workflow.starts).toEqual([]);
      expect(github.permissionCalls).toEqual([]);
    });
  }

  it('answers 401 for a flipped byte in the body and for re-serialised JSON', async () => {
    const { invoke, store } = makeWebhook();
    const signature = await sign(TEST_SECRET, payload);
    const flipped = payload.replace('awesome', 'awesomf');
    const reserialised = JSON.stringify(JSON.parse(payload), null, 2);
    for (const body of [flipped, reserialised]) {
      const response = await invoke(
        apiEvent(body, {
          'x-github-event': 'issues',
          'x-github-delivery': newDeliveryId(),
          'x-hub-signature-256': signature,
        }),
      );
      expect(response.statusCode).toBe(401);
    }
    expect(store.calls).toEqual([]);
  });

  it('verifies the raw bytes of a base64 body (non-ASCII preserved)', async () => {
    const { invoke } = makeWebhook();
    const event = await signedEvent('ping', { zen: 'Ünïcödé — “quotes” 🎉', hook_id: 1 }, { base64: true });
    expect(event.isBase64Encoded).toBe(true);
    const response = await invoke(event);
    expect(response.statusCode).toBe(200);
    expect(parseBody(response).data?.status).toBe('pong');
  });

  it("verifies bytes, not a lenient decoding: a byte swapped for U+FFFD's encoding is refused", async () => {
    const { invoke, store } = makeWebhook();
    // Signed: a body holding U+FFFD (EF BF BD). Sent: the same body with 0xFF in its place, which
    // a lenient UTF-8 decoder would turn back into U+FFFD and so "verify".
    const signedText = JSON.stringify({ zen: 'a\uFFFDb', hook_id: 1 });
    const signature = await sign(TEST_SECRET, signedText);
    const sent = Buffer.from(signedText, 'utf8');
    const at = sent.indexOf(Buffer.from([0xef, 0xbf, 0xbd]));
    const forged = Buffer.concat([sent.subarray(0, at), Buffer.from([0xff]), sent.subarray(at + 3)]);
    const headers = {
      'x-github-event': 'ping',
      'x-github-delivery': newDeliveryId(),
      'x-hub-signature-256': signature,
    };
    const event = { ...apiEvent('', headers), body: forged.toString('base64'), isBase64Encoded: true };
    expect((await invoke(event)).statusCode).toBe(401);
    // Correctly signed bytes that are not UTF-8: authentic but unreadable, so 400, still no write.
    const hmac = createHmac('sha256', TEST_SECRET).update(forged).digest('hex');
    const signedGarbage = {
      ...apiEvent('', { ...headers, 'x-hub-signature-256': `sha256=${hmac}` }),
      body: forged.toString('base64'),
      isBase64Encoded: true,
    };
    const garbage = await invoke(signedGarbage);
    expect(garbage.statusCode).toBe(400);
    expect(store.calls).toEqual([]);
  });

  it('refuses a body over the limit with 413 before reading the secret', async () => {
    const { invoke, store, secrets } = makeWebhook({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ zen: 'x'.repeat(2000) });
    const response = await invoke(await signedEvent('ping', big));
    expect(response.statusCode).toBe(413);
    expect(parseBody(response).error?.code).toBe('PayloadTooLarge');
    expect(secrets.reads).toBe(0);
    expect(store.calls).toEqual([]);
  });

  it('answers 400 for valid signature + malformed JSON, and for a missing delivery id', async () => {
    const { invoke, store } = makeWebhook();
    const malformed = await signedEvent('issues', '{"action": "labeled",');
    expect((await invoke(malformed)).statusCode).toBe(400);
    const noDelivery = await signedEvent('issues', { action: 'opened' });
    delete noDelivery.headers['x-github-delivery'];
    expect((await invoke(noDelivery)).statusCode).toBe(400);
    expect(store.calls).toEqual([]);
  });

  it('answers ping with 200 and unknown events with 202, writing nothing', async () => {
    const { invoke, store } = makeWebhook();
    const ping = await invoke(await signedEvent('ping', { zen: 'Design for failure.', hook_id: 7 }));
    expect(ping.statusCode).toBe(200);
    const star = await invoke(await signedEvent('star', { action: 'created', sender: { login: 'x' } }));
    expect(star.statusCode).toBe(202);
    expect(parseBody(star).data).toMatchObject({ status: 'ignored' });
    expect(store.writes).toEqual([]);
  });
});

describe('every @octokit/webhooks-examples payload', () => {
  const require = createRequire(import.meta.url);
  const definitions = require('@octokit/webhooks-examples') as Array<{ name: string; examples: unknown[] }>;
  const wanted = [
    'issues',
    'issue_comment',
    'pull_request',
    'check_suite',
    'check_run',
    'workflow_run',
    'installation',
    'ping',
  ];

  it('has examples for every event we route', () => {
    for (const name of wanted) {
      expect(
        definitions.find((definition) => definition.name === name)?.examples.length ?? 0,
      ).toBeGreaterThan(0);
    }
  });

  for (const name of wanted) {
    it(`routes or ignores every ${name} example without error`, async () => {
      const { invoke } = makeWebhook();
      const examples = definitions.find((definition) => definition.name === name)?.examples ?? [];
      for (const example of examples) {
        const response = await invoke(await signedEvent(name, example));
        expect([200, 202], `${name}.${(example as { action?: string }).action}`).toContain(
          response.statusCode,
        );
        expect(parseBody(response).data).toBeDefined();
      }
    });
  }
});
