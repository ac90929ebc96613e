import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../../../functions/shared/ports';
import { formatRunResult } from '../../../functions/shared/domain/run-output';
import { probeBwrap } from '../../../local/sandbox/bwrap';
import { LocalSandbox, SandboxUnavailableError } from '../../../local/sandbox/runner';

// Secrets the factory's own process holds; none may be visible to a sandboxed command.
const SECRETS: Record<string, string> = {
  AWS_ACCESS_KEY_ID: 'AKIASANDBOXTESTLEAK1',
  AWS_SECRET_ACCESS_KEY: 'sandbox-test-aws-secret-leak',
  AWS_SESSION_TOKEN: 'sandbox-test-session-leak',
  GITHUB_TOKEN: 'ghp_sandboxtestleak',
  ANTHROPIC_API_KEY: 'sk-ant-sandbox-test-leak',
  FACTORY_WEBHOOK_SECRET: 'sandbox-test-webhook-leak',
};
const SECRET_VALUES = Object.values(SECRETS);

const probe = probeBwrap();
const bwrapReason = probe.available ? '' : ` (SKIPPED: ${probe.reason})`;
if (!probe.available) console.warn(`sandbox isolation tests skipped: ${probe.reason}`);

let root: string;
let workspace: string;
let dataDir: string;
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sandbox-test-'));
  workspace = join(root, 'repo');
  dataDir = join(root, 'data');
  mkdirSync(join(workspace, 'src'), { recursive: true });
  mkdirSync(join(workspace, 'test'));
  mkdirSync(join(workspace, 'config'));
  mkdirSync(join(workspace, '.git'));
  mkdirSync(dataDir);
  writeFileSync(join(workspace, 'README.md'), 'readme\n');
  writeFileSync(join(workspace, 'src', 'add.js'), 'export const add = (a, b) => a + b;\n');
  writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'tiny', type: 'module' }));
  writeFileSync(
    join(workspace, 'test', 'add.test.js'),
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n" +
      "import { add } from '../src/add.js';\ntest('adds', () => assert.equal(add(2, 3), 5));\n",
  );
  writeFileSync(join(workspace, '.env'), 'DB_PASSWORD=hunter2-env-leak\n');
  writeFileSync(join(workspace, '.env.local'), 'X=1\n');
  writeFileSync(join(workspace, '.env.example'), 'DB_PASSWORD=\n');
  writeFileSync(join(workspace, 'id_rsa'), 'PRIVATE KEY\n');
  writeFileSync(join(workspace, 'server.pem'), 'PEM\n');
  writeFileSync(join(workspace, '.npmrc'), '//registry.npmjs.org/:_authToken=npm-leak\n');
  writeFileSync(join(workspace, 'config', 'credentials'), 'aws creds\n');
  writeFileSync(join(workspace, '.git', 'config'), '[core]\n');
  writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ githubToken: 'data-dir-secret-leak' }));
  for (const [name, value] of Object.entries(SECRETS)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
});

afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  rmSync(root, { recursive: true, force: true });
});

const request = (command: string, extra: Partial<SandboxRequest> = {}): SandboxRequest => ({
  workspace: { baseDir: workspace },
  command,
  timeoutSeconds: 20,
  network: false,
  ...extra,
});
const textOf = (result: { head: string; tail: string }) => result.head + result.tail;
const expectNoSecrets = (output: string) => {
  for (const value of [...SECRET_VALUES, 'data-dir-secret-leak', 'hunter2-env-leak', 'npm-leak']) {
    expect(output).not.toContain(value);
  }
};

describe.skipIf(!probe.available)(`local sandbox under bubblewrap${bwrapReason}`, () => {
  const sandbox = new LocalSandbox();

  it("shows none of the factory's environment to the command", async () => {
    const result = await sandbox.run(request('env'));
    expect(result.exitCode).toBe(0);
    expectNoSecrets(textOf(result));
    const names = textOf(result)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('=')[0]);
    expect(names.sort()).toEqual(['CI', 'HOME', 'LANG', 'PATH', 'PWD', 'SHLVL', 'TMPDIR', '_']);
  });

  it("cannot read the parent's environment through /proc", async () => {
    const result = await sandbox.run(
      request(
        `cat /proc/${process.pid}/environ; cat /proc/${process.ppid}/environ; ` +
          'for f in /proc/[0-9]*/environ; do echo "$f"; tr "\\0" "\\n" < "$f"; done; ls /proc',
      ),
    );
    expectNoSecrets(textOf(result));
    // Its own PID namespace: only the sandbox's few processes are listed.
    const pids = textOf(result).match(/^\d+$/gm) ?? [];
    expect(pids.length).toBeLessThan(10);
  });

  it("cannot read a file of the factory's data dir or another workspace", async () => {
    const secrets = join(dataDir, 'secrets.json');
    const result = await sandbox.run(request(`cat ${secrets}`));
    expect(result.exitCode).not.toBe(0);
    expectNoSecrets(textOf(result));
    const others = await sandbox.run(
      request(`ls ${workspace}; ls ${root}; ls /work; ls /root; ls /etc/ssl/private`),
    );
    expect(others.exitCode).not.toBe(0);
    expect(textOf(others)).not.toContain('README.md');
    expect(textOf(others)).not.toContain('secrets.json');
  });

  it('has no network: a TCP connect to a loopback server fails', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.end('factory endpoint\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const node = await sandbox.run(
        request(
          `node -e "require('net').connect(${port}, '127.0.0.1').on('connect', () => { console.log('CONNECTED'); process.exit(0) }).on('error', (e) => { console.log('refused:', e.code); process.exit(7) })"`,
        ),
      );
      expect(node.exitCode).toBe(7);
      expect(textOf(node)).not.toContain('CONNECTED');
      const bash = await sandbox.run(request(`exec 3<>/dev/tcp/127.0.0.1/${port} && echo CONNECTED`));
      expect(bash.exitCode).not.toBe(0);
      expect(textOf(bash)).not.toContain('CONNECTED');
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('kills a command at its time limit and answers 124', async () => {
    const started = Date.now();
    const result = await sandbox.run(request('sleep 30 & sleep 30', { timeoutSeconds: 2 }));
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(formatRunResult(result, 2)).toMatch(/^exit_code: 124 \(timed out after 2 s\)/);
  });

  it('discards what the command writes: the source workspace is unchanged', async () => {
    const before = readdirSync(workspace).sort();
    const result = await sandbox.run(
      request(
        'echo changed > README.md && rm src/add.js && echo new > new.txt && mkdir out && cat README.md',
      ),
    );
    expect(result.exitCode).toBe(0);
    expect(textOf(result)).toBe('changed\n');
    expect(readdirSync(workspace).sort()).toEqual(before);
    expect(readFileSync(join(workspace, 'README.md'), 'utf8')).toBe('readme\n');
    expect(readFileSync(join(workspace, 'src', 'add.js'), 'utf8')).toContain('add');
  });

  it('runs on the base with the pending change laid over it', async () => {
    const result = await sandbox.run({
      ...request('cat README.md; cat src/new.js; ls src'),
      workspace: {
        baseDir: workspace,
        files: [
          { path: 'README.md', content: 'pending\n' },
          { path: 'src/new.js', content: 'new\n' },
          { path: '.env.production', content: 'LEAK=overlay-env-leak\n' },
          { path: '../escape.txt', content: 'x' },
        ],
        deleted: ['src/add.js'],
      },
    });
    expect(textOf(result)).toBe('pending\nnew\nnew.js\n');
    expect(readdirSync(root)).not.toContain('escape.txt');
  });

  it('copies no .git and no file that holds secrets by convention', async () => {
    const result = await sandbox.run(request('ls -A; ls -A config; cat .env 2>&1; true'));
    const listing = textOf(result);
    expect(listing).toContain('.env.example');
    expect(listing).toContain('README.md');
    for (const name of ['.env\n', '.env.local', 'id_rsa', 'server.pem', '.npmrc', 'credentials', '.git\n']) {
      expect(listing).not.toContain(name);
    }
    expect(listing).toContain('No such file');
    expectNoSecrets(listing);
  });

  it('runs node --test on a tiny project', async () => {
    const started = performance.now();
    const result = await sandbox.run(request('node --test'));
    const roundTrip = Math.round(performance.now() - started);
    expect(result.exitCode, textOf(result)).toBe(0);
    expect(textOf(result)).toMatch(/# pass 1/);
    console.log(`node --test in the sandbox: ${result.durationMs} ms command, ${roundTrip} ms round trip`);
  });

  it('keeps the first 2,000 and the last 8,000 characters of long output', async () => {
    const result = await sandbox.run(
      request("printf START; head -c 30000 /dev/zero | tr '\\0' a; printf END"),
    );
    expect(result.head.length).toBe(2_000);
    expect(result.tail.length).toBe(8_000);
    expect(result.omittedChars).toBe(30_008 - 10_000);
    const text = formatRunResult(result, 120);
    expect(text.startsWith('exit_code: 0\nSTART')).toBe(true);
    expect(text.endsWith('aaaEND')).toBe(true);
    expect(text).toContain('[… 20008 characters of output omitted');
  });

  it('bounds the in-memory /tmp and $HOME', async () => {
    const result = await sandbox.run(request('head -c 100M /dev/zero > "$HOME/big"'));
    expect(result.exitCode).not.toBe(0);
    expect(textOf(result)).toMatch(/No space left/);
  });

  it('reports the exit status and joins stderr to stdout in order', async () => {
    const result = await sandbox.run(request('echo one; echo two >&2; echo three; exit 3'));
    expect(result.exitCode).toBe(3);
    expect(textOf(result)).toBe('one\ntwo\nthree\n');
    expect(formatRunResult(result, 120)).toBe('exit_code: 3\none\ntwo\nthree\n');
  });
});

describe('local sandbox without bubblewrap', () => {
  const missing = join(tmpdir(), 'no-such-dir', 'bwrap');

  it('refuses commands unless unsafe runs were allowed, saying why', async () => {
    const sandbox = new LocalSandbox({ bwrap: missing });
    expect(sandbox.isolation()).toEqual({ isolated: false, reason: `${missing} is not installed` });
    const refusal = sandbox.run(request('echo hi'));
    await expect(refusal).rejects.toBeInstanceOf(SandboxUnavailableError);
    await expect(refusal).rejects.toThrow(/not installed.*--unsafe-sandbox/s);
  });

  it('with --unsafe-sandbox runs on a copy with a scrubbed environment and a warning', async () => {
    const sandbox = new LocalSandbox({ bwrap: missing, allowUnsafe: true });
    const result = await sandbox.run(request('env; ls -A; echo x > README.md'));
    expect(result.exitCode).toBe(0);
    expect(result.warning).toMatch(/WITHOUT isolation/);
    expectNoSecrets(textOf(result));
    expect(textOf(result)).not.toContain('.env\n');
    expect(readFileSync(join(workspace, 'README.md'), 'utf8')).toBe('readme\n');
    const timeout = await sandbox.run(request('sleep 30', { timeoutSeconds: 1 }));
    expect(timeout).toMatchObject({ exitCode: 124, timedOut: true });
  });
});
