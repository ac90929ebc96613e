import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLines } from '../../../cli/commands/runs';
import type { CliIo } from '../../../cli/io';
import { main } from '../../../cli/main';
import type { RunView } from '../../../functions/api/schemas';
import { type ApiHarness, startApiHarness } from '../../integration/api/support';

// `code-factory runs …` through main(), against the API served by the local gateway on dynalite.
let api: ApiHarness;
let key: string;

beforeAll(async () => {
  api = await startApiHarness();
  key = await api.key(['runs:read', 'runs:write'], ['acme/*'], 'cli');
});

afterAll(async () => {
  await api?.close();
});

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const connection = () => ['--url', api.gateway.url, '--api-key', key];

describe('code-factory runs', () => {
  it('list --json prints the runs, newest first, and the next token', async () => {
    const older = await api.seedRun({ repo: 'acme/cli', issueNumber: 1 });
    const newer = await api.seedRun({ repo: 'acme/cli', issueNumber: 2 });
    const c = collector();
    const code = await main(['runs', 'list', '--repo', 'acme/cli', '--json', ...connection()], c.io);
    expect(code).toBe(0);
    const printed = JSON.parse(c.out());
    expect(printed.runs.map((r: { id: string }) => r.id)).toEqual([newer.runId, older.runId]);
    expect(printed.next_token).toBeNull();

    const paged = collector();
    expect(
      await main(['runs', 'list', '--repo', 'acme/cli', '--limit', '1', '--json', ...connection()], paged.io),
    ).toBe(0);
    expect(JSON.parse(paged.out()).next_token).toEqual(expect.any(String));

    const human = collector();
    expect(await main(['runs', 'list', '--repo', 'acme/cli', ...connection()], human.io)).toBe(0);
    expect(human.out()).toMatch(/^ID\s+STATUS\s+STAGE\s+REPO\s+KIND\s+ITEM/);
    expect(human.out()).toContain(newer.runId);
    expect(human.out()).toMatch(new RegExp(`${newer.runId}.*\\bchange\\s+#2\\b`));
  });

  it('list with no filter shows the key’s recent runs across its repositories, and no others', async () => {
    const mine = await api.seedRun({ repo: 'acme/everywhere', issueNumber: 1 });
    const theirs = await api.seedRun({ repo: 'other/hidden', issueNumber: 1 });
    const c = collector();
    expect(await main(['runs', 'list', '--limit', '100', '--json', ...connection()], c.io)).toBe(0);
    const ids = JSON.parse(c.out()).runs.map((r: { id: string }) => r.id);
    expect(ids).toContain(mine.runId);
    expect(ids).not.toContain(theirs.runId);
    const human = collector();
    expect(await main(['runs', 'list', ...connection()], human.io)).toBe(0);
    expect(human.out()).toContain('acme/everywhere');
  });

  it('show --json prints the run; show of an unknown run exits 3 with the API error', async () => {
    const run = await api.seedRun({ repo: 'acme/cli', status: 'VERIFYING', stage: 'checks', issueNumber: 3 });
    const c = collector();
    expect(await main(['runs', 'show', run.runId, '--json', ...connection()], c.io)).toBe(0);
    expect(JSON.parse(c.out())).toMatchObject({ id: run.runId, status: 'VERIFYING', stage: 'checks' });

    const missing = collector();
    expect(await main(['runs', 'show', '01JZZZZZZZZZZZZZZZZZZZZZZZ', ...connection()], missing.io)).toBe(3);
    expect(missing.err()).toMatch(/404 NotFound/);
  });

  it('show prints uncached input, cache writes and cache reads each, and their total', async () => {
    const run = await api.seedRun({ repo: 'acme/cli', issueNumber: 9 });
    for (const turn of [1, 2]) {
      await api.dynamo.store.recordLlmCall({
        runId: run.runId,
        stage: 'plan',
        conversationId: 'conv-plan',
        turn,
        model: 'claude-test',
        inputTokens: 120,
        outputTokens: 30,
        cacheReadTokens: 4000,
        cacheWriteTokens: 700,
        costUsd: 0.02,
        latencyMs: 5,
        at: '2025-01-01T00:00:01.000Z',
      });
    }
    const c = collector();
    expect(await main(['runs', 'show', run.runId, ...connection()], c.io)).toBe(0);
    expect(c.out()).toContain('tokens in  9640 total = 240 uncached + 1400 cache writes + 8000 cache reads');
    expect(c.out()).toContain('tokens out 60');
    expect(c.out()).toMatch(/cost\s+\$0\.04 \(2 model calls\)/);
    // Infra: 2 calls × 4 + 10 transitions at $0.025 per 1,000, with Lambda, DynamoDB and SQS beside.
    expect(c.out()).toMatch(
      /infra cost \$0\.\d{4} estimated: Step Functions \$0\.000[45] \(18 transitions\), Lambda \$0\.\d{4} \([\d.]+ GB-s\), DynamoDB \$0\.\d{4}, SQS \$0\.0000/,
    );
  });

  it('watch follows a run as it advances until SUCCEEDED and exits 0', async () => {
    const run = await api.seedRun({ repo: 'acme/cli', status: 'PLANNING', stage: 'plan', issueNumber: 4 });
    const c = collector();
    const watching = main(['runs', 'watch', run.runId, '--interval', '1', ...connection()], c.io);
    // Advance only after the watcher has shown the current status: no timing assumptions.
    const shown = async (status: string) => {
      for (let i = 0; i < 150 && !c.out().includes(status); i++) await new Promise((r) => setTimeout(r, 100));
      expect(c.out()).toContain(status);
    };
    const advance = async () => {
      await shown('PLANNING');
      const planned = await api.dynamo.store.updateRun(run.runId, 0, {
        status: 'IMPLEMENTING',
        stage: 'implement',
      });
      await shown('IMPLEMENTING');
      await api.dynamo.store.updateRun(run.runId, planned.version, {
        status: 'VERIFYING',
        stage: 'checks',
      });
      await shown('VERIFYING');
      const current = await api.dynamo.store.getRun(run.runId);
      await api.dynamo.store.updateRun(run.runId, current?.version ?? 0, {
        status: 'SUCCEEDED',
        stage: 'merge',
        endedAt: new Date(api.dynamo.clock.now() + 60_000).toISOString(),
      });
    };
    const [code] = await Promise.all([watching, advance()]);
    expect(code).toBe(0);
    const lines = c.out().trim().split('\n');
    const statuses = lines.map((line) => line.split(/\s+/)[1]);
    expect(statuses.slice(0, 3)).toEqual(['PLANNING', 'IMPLEMENTING', 'VERIFYING']);
    expect(lines.at(-1)).toMatch(new RegExp(`^run ${run.runId} SUCCEEDED`));
  }, 40_000);

  it('watch exits 2 on CANCELLED, 1 on FAILED, 3 on usage and network errors', async () => {
    const cancelled = await api.seedRun({ repo: 'acme/cli', status: 'CANCELLED', issueNumber: 5 });
    const failed = await api.seedRun({ repo: 'acme/cli', status: 'FAILED', issueNumber: 6 });
    expect(await main(['runs', 'watch', cancelled.runId, ...connection()], collector().io)).toBe(2);
    // A run a follow-up took over ended as a person steered it: watch stops there too.
    const superseded = await api.seedRun({ repo: 'acme/cli', status: 'SUPERSEDED', issueNumber: 9 });
    expect(await main(['runs', 'watch', superseded.runId, ...connection()], collector().io)).toBe(2);
    const f = collector();
    expect(await main(['runs', 'watch', failed.runId, '--json', ...connection()], f.io)).toBe(1);
    expect(JSON.parse(f.out().trim().split('\n').at(-1) ?? '{}')).toMatchObject({
      id: failed.runId,
      status: 'FAILED',
    });
    expect(await main(['runs', 'watch', ...connection()], collector().io)).toBe(3);
    expect(await main(['runs', 'watch', failed.runId, '--bogus', ...connection()], collector().io)).toBe(3);
    const down = collector();
    expect(
      await main(['runs', 'watch', failed.runId, '--url', 'http://127.0.0.1:9', '--api-key', key], down.io),
    ).toBe(3);
    expect(down.err()).toMatch(/cannot reach/);
  }, 20_000);

  it('watch rides out throttling and 5xx answers mid-watch, and gives up only at --timeout', async () => {
    const run = await api.seedRun({ repo: 'acme/cli', status: 'REVIEWING', stage: 'review', issueNumber: 8 });
    // A proxy in front of the API: the first poll passes, the next two are 503 and 429.
    let polls = 0;
    const proxy = createServer(async (request, response) => {
      polls += 1;
      if (polls === 2 || polls === 3) {
        response.writeHead(polls === 2 ? 503 : 429, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'try again' } }));
        return;
      }
      const upstream = await fetch(`${api.gateway.url}${request.url}`, {
        headers: request.headers as Record<string, string>,
      });
      response.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      response.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    try {
      const c = collector();
      const watching = main(
        [
          'runs',
          'watch',
          run.runId,
          '--interval',
          '1',
          '--url',
          `http://127.0.0.1:${port}`,
          '--api-key',
          key,
        ],
        c.io,
      );
      for (let i = 0; i < 100 && polls < 4; i++) await new Promise((r) => setTimeout(r, 100));
      expect(polls).toBeGreaterThanOrEqual(4);
      const current = await api.dynamo.store.getRun(run.runId);
      await api.dynamo.store.updateRun(run.runId, current?.version ?? 0, {
        status: 'SUCCEEDED',
        endedAt: new Date(api.dynamo.clock.now() + 1000).toISOString(),
      });
      expect(await watching).toBe(0);
    } finally {
      proxy.close();
    }

    const still = await api.seedRun({
      repo: 'acme/cli',
      status: 'REVIEWING',
      stage: 'review',
      issueNumber: 9,
    });
    const started = Date.now();
    const c = collector();
    expect(
      await main(['runs', 'watch', still.runId, '--interval', '1', '--timeout', '2', ...connection()], c.io),
    ).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(c.err()).toMatch(/gave up watching/);
  }, 40_000);

  it('list reads on past pages the filter left empty, to show the runs asked for', async () => {
    const repo = `acme/fill-${Date.now()}`;
    const older = [
      await api.seedRun({ repo, status: 'SUCCEEDED', issueNumber: 1 }),
      await api.seedRun({ repo, status: 'SUCCEEDED', issueNumber: 2 }),
    ];
    // Newer runs that do not match: the API's first pages (newest first) hold no SUCCEEDED run.
    for (let i = 3; i < 7; i++) await api.seedRun({ repo, status: 'FAILED', issueNumber: i });
    const c = collector();
    const code = await main(
      ['runs', 'list', '--repo', repo, '--status', 'succeeded', '--limit', '2', '--json', ...connection()],
      c.io,
    );
    expect(code).toBe(0);
    const listed = JSON.parse(c.out()) as { runs: Array<{ id: string; status: string }> };
    expect(listed.runs.map((r) => r.id).sort()).toEqual(older.map((r) => r.runId).sort());
    expect(listed.runs.every((r) => r.status === 'SUCCEEDED')).toBe(true);
  });

  it('cancel cancels an active run (0) and refuses a finished one (1)', async () => {
    const active = await api.seedRun({ repo: 'acme/cli', status: 'IMPLEMENTING', issueNumber: 7 });
    const c = collector();
    expect(await main(['runs', 'cancel', active.runId, ...connection()], c.io)).toBe(0);
    expect(c.out()).toContain('CANCELLED');
    expect((await api.dynamo.store.getRun(active.runId))?.status).toBe('CANCELLED');
    const done = await api.seedRun({ repo: 'acme/cli', status: 'SUCCEEDED', issueNumber: 8 });
    expect(await main(['runs', 'cancel', done.runId, ...connection()], collector().io)).toBe(1);
  });

  it('needs a URL and a key', async () => {
    const c = collector();
    const saved = { url: process.env.FACTORY_URL, key: process.env.FACTORY_API_KEY };
    delete process.env.FACTORY_URL;
    delete process.env.FACTORY_API_KEY;
    try {
      expect(await main(['runs', 'list', '--repo', 'acme/cli'], c.io)).toBe(3);
      expect(c.err()).toMatch(/FACTORY_URL/);
    } finally {
      if (saved.url !== undefined) process.env.FACTORY_URL = saved.url;
      if (saved.key !== undefined) process.env.FACTORY_API_KEY = saved.key;
    }
  });
});

describe('the live progress display', () => {
  it('draws one line per stage with its state and duration', () => {
    const run = {
      id: 'R',
      repo: 'acme/x',
      issue: 1,
      work_item: 'acme/x#1',
      status: 'IMPLEMENTING',
      created_at: '2025-01-01T00:00:00.000Z',
      ledger: { cost_usd: 0.5 },
      stages: [
        { name: 'plan', status: 'SUCCEEDED', started_at: '2025-01-01T00:00:00.000Z', duration_ms: 65_000 },
        { name: 'implement', status: 'RUNNING', started_at: '2025-01-01T00:01:05.000Z' },
      ],
    } as unknown as RunView;
    const lines = progressLines(run, Date.parse('2025-01-01T00:01:15.000Z'));
    expect(lines[0]).toContain('IMPLEMENTING');
    expect(lines[0]).toContain('1m15s');
    expect(lines).toContain('  ✓ plan       succeeded 1m05s');
    expect(lines).toContain('  ● implement  running 10s');
    expect(lines).toContain('  · merge');
  });
});

describe('code-factory keys create', () => {
  it('writes the hashed key to the table and prints the key once', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    try {
      const c = collector();
      const code = await main(
        [
          'keys',
          'create',
          '--name',
          'from-cli',
          '--scopes',
          'runs:read,runs:write',
          '--repos',
          'acme/*',
          '--table',
          api.dynamo.tableName,
          '--endpoint',
          api.dynamo.emulator.endpoint,
          '--region',
          'us-east-1',
          '--json',
        ],
        c.io,
      );
      expect(code).toBe(0);
      const printed = JSON.parse(c.out()) as { apiKey: string; scopes: string[] };
      expect(printed.scopes).toEqual(['runs:read', 'runs:write']);
      // The printed key works against the API.
      const check = collector();
      const args = ['runs', 'list', '--repo', 'acme/cli', '--json', '--url', api.gateway.url];
      expect(await main([...args, '--api-key', printed.apiKey], check.io)).toBe(0);

      const bad = collector();
      expect(
        await main(
          ['keys', 'create', '--name', 'x', '--scopes', 'runs:admin', '--repos', 'acme/*', '--table', 't'],
          bad.io,
        ),
      ).toBe(1);
      expect(bad.err()).toMatch(/unknown scope/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = saved.id;
      process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });
});
