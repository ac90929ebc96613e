import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { approvalKey, csrfHashOf, formToken, signLink } from '../../../functions/shared/approval-links';
import { SesMailer } from '../../../functions/shared/adapters/mailer';
import type { Run } from '../../../functions/shared/domain/run';
import { cryptoIds } from '../../../functions/shared/runtime';
import { requestApproval } from '../../../functions/stages/approval';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { readMailStore, type SesEmulator, startSes } from '../../../local/emulators/ses';
import { type Gateway, startGateway } from '../../../local/gateway';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import {
  formOf,
  HEAD_SHA,
  linksOf,
  makeWorld,
  NEW_HEAD_SHA,
  reviewedRun,
  SIGNING_KEY,
  type World,
} from '../../unit/approvals/support';
import { createApprovalsHandler } from '../../../functions/approvals/app';

// Real HTTP → local API Gateway → approvals handler → the DynamoDB store on dynalite, with a recording
// Workflow (the Step Functions stand-in) and the stage runner's requestApproval creating the links.
let dynamo: TestDynamo;
let gateway: Gateway;
let world: World;

beforeAll(async () => {
  dynamo = await startTestDynamo();
  world = makeWorld({ store: dynamo.store, clock: dynamo.clock, ids: cryptoIds });
  const handler = createApprovalsHandler(world.approvalsPorts);
  gateway = await startGateway({
    routes: [{ method: 'ANY', path: '/approvals/{id}', handler }],
    timeoutMs: 10_000,
  });
  world.stagePorts.settings.publicBaseUrl = gateway.url;
  world.approvalsPorts.settings.publicBaseUrl = gateway.url;
});

afterAll(async () => {
  await gateway?.close();
  await dynamo?.close();
});

afterEach(() => {
  world.github.head = HEAD_SHA;
});

const SCANNERS = [
  'Mozilla/5.0 (compatible; Microsoft Office SafeLinks)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
  'Barracuda Sentinel (EE)',
  'Mimecast URL Protect',
  'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
  'curl/8.5.0',
];

/** A run at the approval stage with its own task token, and its approvers' emailed links. */
async function waitingRun(overrides: Partial<Run> = {}) {
  const run = reviewedRun(overrides);
  await dynamo.store.createRun(run);
  const taskToken = `task-token-${run.runId}`;
  world.workflow.liveTokens.add(taskToken);
  const sentBefore = world.mailer.sent.length;
  await requestApproval(world.stagePorts, run.runId, taskToken);
  const emails = world.mailer.sent.slice(sentBefore);
  const links = (login: string) => {
    const message = emails.find((m) => m.to[0] === `${login}@example.test`);
    if (!message) throw new Error(`no email for ${login}`);
    return linksOf(message);
  };
  const calls = () =>
    world.workflow.successes.filter((c) => c.token === taskToken).length +
    world.workflow.failures.filter((c) => c.token === taskToken).length;
  const refusals = async () =>
    (await dynamo.store.listEvents(run.runId, { limit: 100 })).items
      .filter((e) => e.type === 'approval.refused')
      .map((e) => e.data?.reason);
  return { run, taskToken, emails, links, calls, refusals };
}

const get = (url: URL | string, method = 'GET', userAgent = 'Mozilla/5.0 Test') =>
  fetch(url, {
    method,
    headers: { 'user-agent': userAgent },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });

/** Opens the link, reads the page's form for `decision` and returns what a browser would POST. */
async function formFor(link: URL, decision: 'approve' | 'reject') {
  const page = await get(link);
  expect(page.status).toBe(200);
  const { action, fields } = formOf(await page.text(), decision);
  return { target: new URL(action, link), fields };
}

const post = (
  target: URL,
  fields: Record<string, string>,
  extra = '',
  headers: Record<string, string> = {},
) =>
  fetch(target, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'Mozilla/5.0 Human',
      ...headers,
    },
    body: new URLSearchParams(fields).toString() + extra,
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });

async function scanTable(): Promise<string[]> {
  const items: string[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < 50; page++) {
    const result = await dynamo.client.send(
      new ScanCommand({
        TableName: dynamo.tableName,
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    items.push(...(result.Items ?? []).map((item) => JSON.stringify(item, Object.keys(item).sort())));
    start = result.LastEvaluatedKey;
    if (!start) return items.sort();
  }
  throw new Error('table too large to scan');
}

describe('approval links through real HTTP on dynalite', () => {
  it('a scanner following every link (GET and HEAD, many user agents) changes nothing; the human still decides', async () => {
    const s = await waitingRun();
    const before = await scanTable();
    const urls = s.emails.flatMap((m) => Object.values(linksOf(m)));
    expect(urls).toHaveLength(4);
    for (const userAgent of SCANNERS) {
      for (const url of urls) {
        for (const method of ['GET', 'HEAD']) {
          const response = await get(url, method, userAgent);
          expect(response.status).toBe(200);
          expect(response.headers.get('cache-control')).toBe('no-store');
          await response.arrayBuffer();
        }
      }
    }
    expect(await scanTable()).toEqual(before);
    expect(s.calls()).toBe(0);

    const { target, fields } = await formFor(s.links('alice').approve, 'approve');
    expect(target.search).toBe('');
    const response = await post(target, { ...fields, comment: 'Ship it' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect(await response.text()).toContain('<h1>Approved</h1>');
    expect(world.workflow.successes.filter((c) => c.token === s.taskToken)).toEqual([
      { token: s.taskToken, output: { decision: 'approve', approver: 'alice' } },
    ]);
    expect(await dynamo.store.getRun(s.run.runId)).toMatchObject({
      approvedSha: HEAD_SHA,
      approvedBy: 'alice',
    });
    const states = (await dynamo.store.listApprovalsForRun(s.run.runId))
      .map((r) => [r.approver, r.state])
      .sort();
    expect(states).toEqual([
      ['alice', 'APPROVED'],
      ['bob', 'SUPERSEDED'],
    ]);
    const decided = (await dynamo.store.listEvents(s.run.runId, { limit: 50 })).items.find(
      (e) => e.type === 'approval.decided',
    );
    expect(decided?.data).toMatchObject({
      decision: 'approve',
      comment: 'Ship it',
      userAgent: 'Mozilla/5.0 Human',
    });
    // No task token anywhere in the table after the decision (the wait item is gone).
    expect((await scanTable()).join('\n')).not.toContain(s.taskToken);
  });

  it('a cross-origin POST with valid fields is refused and the run keeps waiting; from the page itself it decides', async () => {
    const s = await waitingRun();
    const { target, fields } = await formFor(s.links('alice').approve, 'approve');
    const hostile = await post(target, fields, '', {
      origin: 'https://attacker.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(hostile.status).toBe(403);
    expect(await hostile.text()).toContain('Decision from another site');
    expect(s.calls()).toBe(0);
    expect(await dynamo.store.getWait('approval', s.run.runId)).toBeDefined();
    expect(await s.refusals()).toEqual(['cross-origin']);

    const own = await post(target, fields, '', {
      origin: new URL(gateway.url).origin,
      'sec-fetch-site': 'same-origin',
    });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('<h1>Approved</h1>');
    expect(s.calls()).toBe(1);
  });

  it('10 concurrent POSTs of one approval answer the task token exactly once', async () => {
    const s = await waitingRun();
    const { target, fields } = await formFor(s.links('bob').approve, 'approve');
    const responses = await Promise.all(Array.from({ length: 10 }, () => post(target, fields)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    expect(statuses.filter((status) => status === 409)).toHaveLength(9);
    expect(s.calls()).toBe(1);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
  });

  it('reject carries the reason to the run and fails the token with Rejected', async () => {
    const s = await waitingRun();
    const { target, fields } = await formFor(s.links('alice').reject, 'reject');
    const response = await post(target, { ...fields, comment: 'Needs a design review first' });
    expect(response.status).toBe(200);
    expect(world.workflow.failures.filter((c) => c.token === s.taskToken)).toEqual([
      { token: s.taskToken, error: 'Rejected', cause: 'Needs a design review first' },
    ]);
    expect((await dynamo.store.getRun(s.run.runId))?.error).toEqual({
      class: 'Rejected',
      cause: 'Needs a design review first',
    });
  });
});

describe('every refusal: a 4xx page, audited, and no task-token call', () => {
  type S = Awaited<ReturnType<typeof waitingRun>>;
  const tamper = (token: string) => `${token.slice(0, 7)}${token[7] === 'A' ? 'B' : 'A'}${token.slice(8)}`;
  const cases: Array<{ name: string; status: number; reason: string; act: (s: S) => Promise<Response> }> = [
    {
      name: 'tampered token',
      status: 403,
      reason: 'bad-link-token',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        return post(target, { ...fields, t: tamper(fields.t ?? '') });
      },
    },
    {
      name: 'expired link',
      status: 410,
      reason: 'expired',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        dynamo.clock.advance(86_400_000 + 1000);
        return post(target, fields);
      },
    },
    {
      name: 'replayed POST',
      status: 409,
      reason: 'already-decided',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        expect((await post(target, fields)).status).toBe(200);
        world.workflow.successes.length = 0;
        return post(target, fields);
      },
    },
    {
      name: 'the other decision swapped in',
      status: 403,
      reason: 'decision-swapped',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').reject, 'reject');
        return post(target, { ...fields, decision: 'approve' });
      },
    },
    {
      name: 'a second decision appended',
      status: 400,
      reason: 'bad-decision',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').reject, 'reject');
        return post(target, fields, '&decision=approve');
      },
    },
    {
      name: "another run's link",
      status: 403,
      reason: 'bad-link-token',
      act: async (s) => {
        const other = await waitingRun();
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        const foreign = await formFor(other.links('alice').approve, 'approve');
        return post(target, { ...fields, t: foreign.fields.t ?? '', csrf: foreign.fields.csrf ?? '' });
      },
    },
    {
      name: "another approver's link",
      status: 403,
      reason: 'bad-link-token',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        const bob = await formFor(s.links('bob').approve, 'approve');
        return post(target, { ...fields, t: bob.fields.t ?? '' });
      },
    },
    {
      name: 'an approver not in the list',
      status: 403,
      reason: 'approver-not-listed',
      act: async (s) => {
        const key = approvalKey(SIGNING_KEY);
        const approvalId = cryptoIds.secret(16);
        const claims = {
          approvalId,
          runId: s.run.runId,
          approver: 'mallory',
          headSha: HEAD_SHA,
          expiresAt: Math.floor(dynamo.clock.now() / 1000) + 3600,
        };
        const t = signLink(key, claims);
        await dynamo.store.putApproval({
          ...claims,
          email: 'mallory@example.test',
          state: 'PENDING',
          csrfHash: csrfHashOf(key, approvalId, t),
        });
        const target = new URL(`/approvals/${approvalId}`, gateway.url);
        return post(target, { t, decision: 'approve', csrf: formToken(key, approvalId, t, 'approve') });
      },
    },
    {
      name: 'a new push made the link stale',
      status: 409,
      reason: 'stale-head',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        world.github.head = NEW_HEAD_SHA;
        return post(target, fields);
      },
    },
    {
      name: 'a cancelled run',
      status: 409,
      reason: 'run-not-waiting',
      act: async (s) => {
        const { target, fields } = await formFor(s.links('alice').approve, 'approve');
        const run = (await dynamo.store.getRun(s.run.runId)) as Run;
        await dynamo.store.updateRun(run.runId, run.version, { status: 'CANCELLED' });
        return post(target, fields);
      },
    },
    {
      name: 'decided by someone else',
      status: 409,
      reason: 'superseded',
      act: async (s) => {
        const alice = await formFor(s.links('alice').approve, 'approve');
        const bob = await formFor(s.links('bob').reject, 'reject');
        expect((await post(bob.target, bob.fields)).status).toBe(200);
        world.workflow.failures.length = 0;
        return post(alice.target, alice.fields);
      },
    },
  ];

  it.each(cases)('$name → $status', async ({ status, reason, act }) => {
    const s = await waitingRun();
    const response = await act(s);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(await response.text()).toContain('Nothing was changed');
    expect(s.calls()).toBe(0);
    expect(await s.refusals()).toContain(reason);
  });
});

describe('the email through the SES emulator', () => {
  let ses: SesEmulator;
  let client: SESv2Client;

  beforeAll(async () => {
    ses = await startSes();
    client = new SESv2Client({ endpoint: ses.endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
  });
  afterAll(async () => {
    client?.destroy();
    await ses?.close();
  });

  it('the emailed link, read from the mail store, opens the page and approves', async () => {
    const run = reviewedRun({ issueTitle: `SES ${Date.now()}` });
    await dynamo.store.createRun(run);
    const taskToken = `task-token-${run.runId}`;
    world.workflow.liveTokens.add(taskToken);
    const original = world.stagePorts.mailer;
    world.stagePorts.mailer = new SesMailer(client);
    try {
      await requestApproval(world.stagePorts, run.runId, taskToken);
    } finally {
      world.stagePorts.mailer = original;
    }
    const store = await readMailStore(ses.mailUrl);
    const email = store.emails.find(
      (e) => e.destination.to.includes('alice@example.test') && e.subject.includes(run.issueTitle ?? '?'),
    );
    expect(email?.body.html).toContain('Approve…');
    expect(JSON.stringify(email)).not.toContain(taskToken);
    const link = /^Approve: (\S+)$/m.exec(email?.body.text ?? '')?.[1];
    expect(link).toMatch(new RegExp(`^${gateway.url}/approvals/`));
    const { target, fields } = await formFor(new URL(link ?? ''), 'approve');
    expect((await post(target, fields)).status).toBe(200);
    expect(world.workflow.successes.filter((c) => c.token === taskToken)).toHaveLength(1);
  });
});
