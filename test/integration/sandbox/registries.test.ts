import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxHandler } from '../../../functions/sandbox/app';
import { ProcessSandbox } from '../../../functions/sandbox/process-runner';
import { setupCredentialsOf } from '../../../functions/shared/domain/registries';
import type { SandboxJob, SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import type { Sandbox } from '../../../functions/shared/ports';
import { probeBwrap } from '../../../local/sandbox/bwrap';
import { LocalSandbox } from '../../../local/sandbox/runner';
import { tarballOf } from '../../support/tarball';

/**
 * Private registry tokens (deployment config `sandbox.registries`): the setup commands see them
 * (variable, ~/.npmrc, ~/.netrc); `run` and the checks do not; the cached setup output holds no
 * file with a token; a failing setup's output reaches the model redacted. Then the AWS split: a
 * setup job on the setup function stores the output, a command function without tokens takes it.
 */

const TOKEN = 'npm_registrytoken_0123456789abcdef';
const REGISTRIES = [{ host: 'npm.example.test', secretId: 'registry/npm', env: 'NPM_TOKEN' }];
const credentials = async () => setupCredentialsOf(REGISTRIES, [TOKEN]);
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

let server: Server;
let base: string;
let root: string;
const objects = new Map<string, Buffer>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sandbox-registries-'));
  objects.set('/snapshot', Buffer.from(tarballOf({ 'package.json': '{"name":"tiny"}\n' })));
  objects.set('/overlay', Buffer.from(JSON.stringify({ files: [], deleted: [] })));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'PUT') {
        objects.set(path, Buffer.concat(chunks));
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
function job(
  setup: string[],
  commands: string[],
  key: string,
  options: { setupJob?: boolean } = {},
): SandboxJob {
  const id = ++jobs;
  return {
    snapshot: { key: 'snapshots/run/sha.tar.gz', url: `${base}/snapshot` },
    overlayUrl: `${base}/overlay`,
    network: false,
    setup: {
      commands: setup.map((command) => ({ command, timeoutSeconds: 20 })),
      cache: { key, getUrl: `${base}/cache/${key}`, putUrl: `${base}/cache/${key}` },
      ...(options.setupJob ? { resultUrl: `${base}/setup/${id}` } : {}),
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
const output = (outcome: SandboxOutcome | undefined) => `${outcome?.head ?? ''}${outcome?.tail ?? ''}`;

const SETUP = [
  [
    'mkdir -p out',
    'printf %s "$NPM_TOKEN" | sha256sum | cut -d" " -f1 > out/token-hash',
    'cp ~/.npmrc out/npmrc-seen',
    // Under bubblewrap, PID 1 is bubblewrap's own process: its command line holds no token.
    'tr "\\0" " " < /proc/1/cmdline > out/init-cmdline',
    'grep -c "machine npm.example.test login token password" ~/.netrc > out/netrc-lines',
    // What a careless setup script does: the token in the workspace, in and out of a secret path.
    'echo "//npm.example.test/:_authToken=$NPM_TOKEN" > .npmrc',
    'echo "token=$NPM_TOKEN" > out/leaked.txt',
  ].join(' && '),
];
const RUN_ENV = 'env; cat ~/.npmrc ~/.netrc .npmrc out/leaked.txt 2>&1; echo "[$NPM_TOKEN]"';
const CHECK = 'test -z "$NPM_TOKEN" && ! grep -rq "registrytoken" . ~ 2>/dev/null && echo no-token';

const bwrap = probeBwrap();
const runners: Array<[string, () => Sandbox, boolean]> = [
  ['a plain child process (the AWS functions)', () => new ProcessSandbox(), true],
  ['bubblewrap (the embedded stack)', () => new LocalSandbox(), bwrap.available],
];

describe.each(runners)('registry tokens under %s', (_name, runner, available) => {
  const key = sha256(_name);
  const handler = () =>
    createSandboxHandler({
      runner: runner(),
      workRoot: mkdtempSync(join(root, 'container-')),
      log: { info() {}, warn() {} },
      credentials,
    });

  it.skipIf(!available)('setup sees the token; a run of env and a check do not', async () => {
    const ran = job(
      SETUP,
      ['cat out/token-hash out/npmrc-seen out/netrc-lines', RUN_ENV, CHECK, 'cat out/init-cmdline'],
      key,
    );
    await handler()(ran);
    const [seen, env, check, init] = outcomes(ran);
    expect(seen?.exitCode).toBe(0);
    expect(output(seen).trim().split('\n')).toEqual([
      sha256(TOKEN),
      // npm's user config names the variable; the file holds no token.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: npm's own variable syntax
      '//npm.example.test/:_authToken=${NPM_TOKEN}',
      '1',
    ]);
    expect(output(env)).toContain('PATH=');
    expect(output(env)).not.toContain(TOKEN);
    expect(output(env)).not.toContain('registrytoken');
    expect(output(env)).toContain('[]');
    expect(output(init)).not.toContain(TOKEN);
    if (_name.startsWith('bubblewrap')) expect(output(init)).toContain('--clearenv');
    expect(check?.exitCode).toBe(0);
    expect(output(check).trim()).toBe('no-token');
  });

  it.skipIf(!available)('the cached setup output holds no token and no .npmrc', async () => {
    const archive = objects.get(`/cache/${key}`);
    expect(archive).toBeDefined();
    const tarBytes = gunzipSync(archive as Buffer);
    expect(tarBytes.includes(Buffer.from(TOKEN))).toBe(false);
    const { list } = await import('tar');
    const entries: string[] = [];
    await pipeline(
      Readable.from([archive as Buffer]),
      list({ onReadEntry: (entry) => entries.push(entry.path) }),
    );
    const files = entries
      .map((path) => path.replace(/^\.\//, ''))
      .filter((path) => path && !path.endsWith('/'));
    expect(files.sort()).toEqual(['out/init-cmdline', 'out/netrc-lines', 'out/npmrc-seen', 'out/token-hash']);
  });

  it.skipIf(!available)('a failing setup answers the model with the token redacted', async () => {
    const failing = job(['echo "auth failed for $NPM_TOKEN"; exit 2'], ['true'], sha256(`${_name}-failing`));
    await handler()(failing);
    const [answer] = outcomes(failing);
    expect(answer?.setupFailed).toBe(true);
    expect(output(answer)).toContain('auth failed for [redacted]');
    expect(output(answer)).not.toContain(TOKEN);
  });
});

describe('the split on AWS: a setup job, then a command job on a function without tokens', () => {
  const key = sha256('split');
  const setupFunction = createSandboxHandler({
    runner: new ProcessSandbox(),
    workRoot: mkdtempSync(join(tmpdir(), 'sandbox-setup-fn-')),
    log: { info() {}, warn() {} },
    credentials,
    setupMode: 'run',
  });
  const commandFunction = () =>
    createSandboxHandler({
      runner: new ProcessSandbox(),
      workRoot: mkdtempSync(join(tmpdir(), 'sandbox-command-fn-')),
      log: { info() {}, warn() {} },
      setupMode: 'cached',
    });

  it('the setup function stores the output and reports; it runs no command', async () => {
    const setupJob = job(SETUP, ['echo should-not-run'], key, { setupJob: true });
    expect(await setupFunction(setupJob)).toEqual({ ok: true });
    const reported = JSON.parse(String(objects.get(`/setup/${jobs}`)));
    expect(reported.ok).toBe(true);
    expect(reported.setupMs).toBeGreaterThan(0);
    expect(objects.has(new URL(setupJob.commands[0]?.resultUrl ?? base).pathname)).toBe(false);

    const commands = job(SETUP, ['cat out/token-hash', RUN_ENV], key);
    await commandFunction()(commands);
    const [hash, env] = outcomes(commands);
    expect(output(hash).trim()).toBe(sha256(TOKEN));
    expect(output(env)).not.toContain(TOKEN);
  });

  it('a command function never runs setup itself: no cached output is a clear refusal', async () => {
    const commands = job(['touch ran-setup'], ['ls'], sha256('never-set-up'));
    await commandFunction()(commands);
    const [answer] = outcomes(commands);
    expect(answer?.exitCode).toBe(126);
    expect(answer?.unavailable).toMatch(/output of environment.setup is not available/);
  });

  it('a failing setup job answers every command and reports not ok', async () => {
    const failing = job(['echo "no access with $NPM_TOKEN"; exit 5'], ['true', 'true'], sha256('fails'), {
      setupJob: true,
    });
    expect(await setupFunction(failing)).toEqual({ ok: false });
    for (const answer of outcomes(failing)) {
      expect(answer.exitCode).toBe(5);
      expect(answer.setupFailed).toBe(true);
      expect(output(answer)).toContain('no access with [redacted]');
    }
  });
});
