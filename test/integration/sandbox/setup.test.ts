import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxHandler } from '../../../functions/sandbox/app';
import { ProcessSandbox } from '../../../functions/sandbox/process-runner';
import type { SandboxJob, SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import type { Sandbox } from '../../../functions/shared/ports';
import { probeBwrap } from '../../../local/sandbox/bwrap';
import { LocalSandbox } from '../../../local/sandbox/runner';
import { tarballOf } from '../../support/tarball';

/**
 * `environment.setup` in the sandbox function: run once with network, its new files laid under
 * every command, cached in the container and in the bucket (through presigned-URL-like links of a
 * small HTTP server here), a failing setup answered to every command.
 */

const SNAPSHOT = tarballOf({
  'package.json': '{"name":"tiny"}\n',
  'src/index.js': 'module.exports = 1;\n',
  'vendor/keep.txt': 'in the repository\n',
});

let server: Server;
let base: string;
let root: string;
const objects = new Map<string, Buffer>();
const puts: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandbox-setup-'));
  objects.set('/snapshot', Buffer.from(SNAPSHOT));
  objects.set(
    '/overlay',
    Buffer.from(JSON.stringify({ files: [{ path: 'src/new.js', content: 'new\n' }], deleted: [] })),
  );
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'PUT') {
        objects.set(path, Buffer.concat(chunks));
        puts.push(path);
        res.writeHead(200).end();
        return;
      }
      const body = objects.get(path);
      if (!body) res.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');
      else res.writeHead(200, { 'content-length': body.length }).end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(root, { recursive: true, force: true });
});

let jobs = 0;
function job(setup: string[], commands: string[], key = 'a'.repeat(64)): SandboxJob {
  const id = ++jobs;
  return {
    snapshot: { key: 'snapshots/run/sha.tar.gz', url: `${base}/snapshot` },
    overlayUrl: `${base}/overlay`,
    network: false,
    setup: {
      commands: setup.map((command) => ({ command, timeoutSeconds: 20 })),
      cache: { key, getUrl: `${base}/cache/${key}`, putUrl: `${base}/cache/${key}` },
    },
    commands: commands.map((command, i) => ({
      command,
      timeoutSeconds: 20,
      resultUrl: `${base}/result/${id}/${i}`,
    })),
  };
}

const outcomes = (ran: SandboxJob): SandboxOutcome[] =>
  ran.commands.map((command) => JSON.parse(String(objects.get(new URL(command.resultUrl).pathname))));
const output = (outcome: SandboxOutcome) => outcome.head + outcome.tail;

/** A fresh container: its own /tmp cache. */
const container = (runner: Sandbox = new ProcessSandbox()) =>
  createSandboxHandler({
    runner,
    workRoot: mkdtempSync(join(root, 'container-')),
    log: { info() {}, warn() {} },
  });

describe('environment.setup in the sandbox function', () => {
  const SETUP = [
    'mkdir -p node_modules/dep && echo "$RANDOM$RANDOM$RANDOM" > node_modules/dep/stamp && echo installed',
    'cp node_modules/dep/stamp node_modules/dep/copied && echo more > vendor/built.txt',
  ];
  const SHOW =
    'cat node_modules/dep/stamp node_modules/dep/copied vendor/built.txt vendor/keep.txt src/new.js';
  let firstStamp = '';

  it('runs the setup once, lays what it made under every command, and uploads it', async () => {
    const handler = container();
    const first = job(SETUP, [SHOW, 'ls node_modules/dep']);
    await handler(first);
    const [show, list] = outcomes(first);
    expect(show?.exitCode).toBe(0);
    const lines = output(show as SandboxOutcome)
      .trim()
      .split('\n');
    firstStamp = lines[0] ?? '';
    expect(firstStamp).toMatch(/^\d+$/);
    // The second setup command saw the first's output; the base and the pending change are there too.
    expect(lines).toEqual([firstStamp, firstStamp, 'more', 'in the repository', 'new']);
    expect(
      output(list as SandboxOutcome)
        .trim()
        .split('\n'),
    ).toEqual(['copied', 'stamp']);
    expect(puts).toContain(`/cache/${'a'.repeat(64)}`);
    // The setup's time rides on every result, for the stage runner to bill once.
    expect(show?.setupMs).toBeGreaterThan(0);
    expect(list?.setupMs).toBe(show?.setupMs);

    // The same container reuses its copy: the stamp does not change, nothing is uploaded again.
    const again = job(SETUP, ['cat node_modules/dep/stamp']);
    const uploads = puts.filter((path) => path.startsWith('/cache/')).length;
    await handler(again);
    expect(output(outcomes(again)[0] as SandboxOutcome).trim()).toBe(firstStamp);
    expect(puts.filter((path) => path.startsWith('/cache/')).length).toBe(uploads);
  });

  it('a new container takes the output from the bucket instead of running the setup', async () => {
    const fresh = job(
      ['echo should-not-run > node_modules/dep/stamp; exit 1'],
      ['cat node_modules/dep/stamp vendor/built.txt'],
    );
    await container()(fresh);
    const [shown] = outcomes(fresh);
    expect(shown?.exitCode).toBe(0);
    expect(
      output(shown as SandboxOutcome)
        .trim()
        .split('\n'),
    ).toEqual([firstStamp, 'more']);
  });

  it('uploads only what the setup made, not the repository or the pending change', async () => {
    const archive = objects.get(`/cache/${'a'.repeat(64)}`);
    expect(archive).toBeDefined();
    const { list } = await import('tar');
    const entries: string[] = [];
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    await pipeline(
      Readable.from([archive as Buffer]),
      list({ onReadEntry: (entry) => entries.push(entry.path) }),
    );
    const files = entries
      .map((path) => path.replace(/^\.\//, ''))
      .filter((path) => path && !path.endsWith('/'));
    expect(files.sort()).toEqual(['node_modules/dep/copied', 'node_modules/dep/stamp', 'vendor/built.txt']);
  });

  it('answers every command with the failing setup command and its output, and caches nothing', async () => {
    const key = 'b'.repeat(64);
    const failing = job(['echo cannot reach the registry; exit 3'], ['true', 'echo never'], key);
    await container()(failing);
    for (const outcome of outcomes(failing)) {
      expect(outcome.exitCode).toBe(3);
      expect(outcome.unavailable).toBe(
        'environment.setup failed: `echo cannot reach the registry; exit 3` exited 3',
      );
      expect(output(outcome)).toContain('cannot reach the registry');
      expect(outcome.setupMs).toBeGreaterThan(0);
    }
    expect(puts).not.toContain(`/cache/${key}`);
  });

  const bwrap = probeBwrap();
  it.skipIf(!bwrap.available)(
    'collects the setup output under bubblewrap too, with network only for the setup',
    async () => {
      const key = 'c'.repeat(64);
      const probeNetwork = `node -e "fetch('${base}/snapshot').then((r) => console.log('reached', r.status), () => console.log('unreachable'))"`;
      const isolated = job(
        [`mkdir -p out && (${probeNetwork}) > out/interfaces`],
        ['cat out/interfaces', probeNetwork],
        key,
      );
      await container(new LocalSandbox())(isolated);
      const [setupSaw, commandSaw] = outcomes(isolated).map((outcome) => output(outcome).trim());
      expect(setupSaw).toBe('reached 200');
      expect(commandSaw).toBe('unreachable');
    },
  );
});
