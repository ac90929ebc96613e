import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../../support/e2e';
import { portIsFree, portOf, type ReadyLine, ROOT } from './child';

/**
 * `npm start`, then SIGTERM to the npm process alone (what a process manager or `kill <pid>` does):
 * npm's shell does not pass the signal on, so the stack must notice its launcher is gone and stop,
 * freeing every port, instead of running on orphaned.
 */
const dirs: string[] = [];
const groups: number[] = [];

afterAll(async () => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start stopped with SIGTERM on the npm process', () => {
  it('stops the stack: every port freed and no process of it left', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cf-sigterm-'));
    dirs.push(dataDir);
    const npm = spawn('npm', ['start', '--', '--data-dir', dataDir, '--port', '0'], {
      cwd: ROOT,
      env: process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = npm.pid as number;
    groups.push(pid);
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    npm.stderr.resume();
    const ready = await eventually(
      'the ready line',
      async () => {
        const line = out.split('\n').find((l) => l.startsWith('{') && l.includes('"ready"'));
        return line ? (JSON.parse(line) as ReadyLine) : undefined;
      },
      60_000,
      100,
    );
    // One port may serve two names (the mail store and SES): check each once.
    const ports = [
      ...new Set(
        [ready.url, ready.consoleUrl, ready.forgeUrl, ready.mailUrl, ...Object.values(ready.endpoints)].map(
          portOf,
        ),
      ),
    ];
    expect(await portIsFree(portOf(ready.url))).toBe(false);

    process.kill(pid, 'SIGTERM');
    await eventually(
      'every port of the stack to be free',
      async () => ((await Promise.all(ports.map(portIsFree))).every(Boolean) ? true : undefined),
      20_000,
      250,
    );
    await eventually(
      'the stack’s processes to exit',
      async () => (groupAlive(pid) ? undefined : true),
      15_000,
      250,
    );
  }, 120_000);
});
