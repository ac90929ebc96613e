import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRunResult } from '../../../functions/shared/domain/run-output';
import { probeBwrap } from '../../../local/sandbox/bwrap';
import { DEFAULT_COMMAND_LIMITS, limitNote } from '../../../local/sandbox/limits';
import { LocalSandbox } from '../../../local/sandbox/runner';

/**
 * The local runner's resource limits: a command that allocates past its memory limit, a fork
 * bomb and a CPU spinner each end bounded, and the model's answer says which limit they met.
 */
const probe = probeBwrap();
if (!probe.available) console.warn(`sandbox limit tests skipped: ${probe.reason}`);

let workspace: string;
beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'sandbox-limits-'));
  writeFileSync(join(workspace, 'README.md'), 'limits\n');
});
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const sandbox = new LocalSandbox({
  limits: { memoryBytes: 256 * 1024 ** 2, processes: 32, cpuSeconds: 2, fileBytes: 1024 ** 2 },
});
const run = (command: string, timeoutSeconds = 20) =>
  sandbox.run({ workspace: { baseDir: workspace }, command, timeoutSeconds, network: false });

describe.skipIf(!probe.available)('local sandbox limits', () => {
  it('applies the limits as hard limits the command cannot raise', async () => {
    const result = await run(
      'ulimit -d -u -f; ulimit -St; ulimit -d unlimited 2>/dev/null && echo raised || echo kept',
    );
    expect(result.exitCode).toBe(0);
    const lines = (result.head + result.tail).trim().split('\n');
    expect(lines.slice(0, 4).map((line) => line.replace(/^.*\s/, ''))).toEqual([
      String(256 * 1024),
      '32',
      '1024',
      '2',
    ]);
    expect(lines.at(-1)).toBe('kept');
  });

  it('stops a command allocating past the memory limit, and says so', async () => {
    const started = Date.now();
    const result = await run(
      'node -e "const a = []; for (let i = 0; i < 64; i++) a.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log(\'allocated\', a.length)"',
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.exitCode).not.toBe(0);
    expect(result.timedOut).toBe(false);
    const answer = formatRunResult(result, 20);
    expect(answer).not.toContain('allocated 64');
    expect(answer).toContain('[sandbox: a process ran out of memory; each may use at most 0.3 GiB]');
  });

  it('bounds a fork bomb by the process limit and the time limit, and says so', async () => {
    const started = Date.now();
    const result = await run('bomb() { bomb | bomb & }; bomb; sleep 30', 4);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.timedOut).toBe(true);
    const answer = formatRunResult(result, 4);
    expect(answer).toMatch(/^exit_code: 124 \(timed out after 4 s\)/);
    expect(answer).toContain(
      '[sandbox: the command reached the limit of 32 processes; it cannot start more]',
    );
  });

  it('stops a CPU spinner at its CPU time, before the wall-clock limit', async () => {
    const started = Date.now();
    const result = await run('while :; do :; done', 20);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(152);
    expect(formatRunResult(result, 20)).toContain(
      '[sandbox: a process used its 2 s of CPU time and was stopped]',
    );
  });

  it('stops a process writing a file past the size limit, and says so', async () => {
    const result = await run('head -c 4000000 /dev/zero > big.bin; echo "status $?"; stat -c %s big.bin');
    const output = result.head + result.tail;
    expect(output).toContain('status 153');
    expect(output).toContain(`\n${1024 ** 2}\n`);
    expect(output).toContain('[sandbox: a process tried to write a file over 0 GiB and was stopped]');
  });

  it('leaves ordinary commands alone, with no note', async () => {
    const result = await run('node -e "console.log(Buffer.alloc(50 * 1024 * 1024).length)"');
    expect(result.exitCode).toBe(0);
    expect((result.head + result.tail).trim()).toBe(String(50 * 1024 * 1024));
  });
});

describe('limit notes', () => {
  const base = { exitCode: 1, timedOut: false, head: '', tail: '' };
  it('names the limit only when the command met it', () => {
    expect(limitNote({ ...base, tail: 'Error: ENOENT' }, DEFAULT_COMMAND_LIMITS, 60)).toBeUndefined();
    expect(
      limitNote({ ...base, exitCode: 0, tail: 'out of memory test passed' }, DEFAULT_COMMAND_LIMITS, 60),
    ).toBeUndefined();
    expect(limitNote({ ...base, exitCode: 152 }, DEFAULT_COMMAND_LIMITS, 60)).toContain('60 s of CPU time');
    expect(limitNote({ ...base, exitCode: 153 }, DEFAULT_COMMAND_LIMITS, 60)).toContain('over 1 GiB');
    expect(
      limitNote(
        { ...base, head: 'bash: fork: retry: Resource temporarily unavailable' },
        DEFAULT_COMMAND_LIMITS,
        60,
      ),
    ).toContain('256 processes');
  });
});
