import { describe, expect, it } from 'vitest';
import type { SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import { setupCacheObject } from '../../../functions/stages/setup-cache';
import { setUp } from './agent-harness';

/**
 * Which sandbox function a job goes to (decision 0005): the setup function first when the setup
 * output is not cached (then the commands), the command function with network only when the
 * repository opts in, the one without otherwise.
 */
const call = (id: string, name: string, input: unknown) => ({ type: 'tool_use', id, name, input });
const run = (id: string) => call(id, 'run', { command: 'npm test', timeout_seconds: 100 });
const outcome = (durationMs: number, extra: Partial<SandboxOutcome> = {}): SandboxOutcome => ({
  exitCode: 0,
  timedOut: false,
  head: 'ok\n',
  tail: '',
  omittedChars: 0,
  durationMs,
  ...extra,
});
const SETUP = { setup: ['npm ci'], maxRunSeconds: 300 };

describe('sandbox routes', () => {
  it('sends a job without setup and network to the function without network', async () => {
    const { answer } = await setUp();
    const { pointer } = await answer([run('r-1')], 'tool_use');
    expect(pointer.outcome).toBe('sandbox');
    expect(pointer.sandbox?.network).toBe(false);
    expect(pointer.sandbox?.setup).toBeUndefined();
  });

  it('sends a repository that opted into network to the function with network', async () => {
    const { answer } = await setUp({ environment: { network: true } });
    const { pointer } = await answer([run('r-1')], 'tool_use');
    expect(pointer.outcome).toBe('sandbox-online');
    expect(pointer.sandbox?.network).toBe(true);
  });

  it('runs an uncached setup on the setup function, then the commands, and bills both', async () => {
    const { store, runId, answer, ran, setupRan } = await setUp({
      environment: SETUP,
      pricePerSecondUsd: 0.001,
    });
    const first = await answer([run('r-1')], 'tool_use');
    expect(first.pointer.outcome).toBe('sandbox-setup');
    const setupUrl = first.pointer.sandbox?.setup?.resultUrl;
    expect(setupUrl).toMatch(/^memory:\/\/PUT\/sandbox\/.*\/setup\.json$/);

    await setupRan({ ok: true, setupMs: 40_000 });
    const handed = await ran([]);
    expect(handed.pointer.outcome).toBe('sandbox');
    // The command job takes the output from the cache: no setup result URL, no token path.
    expect(handed.pointer.sandbox?.setup?.resultUrl).toBeUndefined();
    expect(handed.pointer.sandbox?.commands.map((c) => c.command)).toEqual(['npm test']);

    const done = await ran([[outcome(2000, { setupMs: 500 })]]);
    expect(done.pointer.outcome).toBe('continue');
    expect(done.reply[0]).toMatchObject({ tool_use_id: 'r-1', is_error: false });
    // 2 s of command, 0.5 s fetching the setup output, 40 s of setup on the setup function.
    expect(store.runs.get(runId)?.ledger.sandboxSeconds).toBe(42.5);
  });

  it('skips the setup function when the output is cached', async () => {
    const { answer, deps } = await setUp({ environment: SETUP });
    const first = await answer([run('r-1')], 'tool_use');
    expect(first.pointer.outcome).toBe('sandbox-setup');
    const key = first.pointer.sandbox?.setup?.cache.key ?? '';
    await deps.blobs.put(setupCacheObject('acme/widgets', key), new Uint8Array([1]));
    const again = await answer([run('r-2')], 'tool_use');
    expect(again.pointer.outcome).toBe('sandbox');
    expect(again.pointer.sandbox?.setup?.cache.key).toBe(key);
  });

  it('answers the model from the setup function when the setup failed', async () => {
    const { answer, ran, setupRan } = await setUp({ environment: SETUP });
    await answer([run('r-1')], 'tool_use');
    await setupRan({ ok: false, setupMs: 900 });
    const failed = outcome(0, {
      exitCode: 1,
      head: 'npm ERR! 401 Unauthorized\n',
      unavailable: 'environment.setup failed: `npm ci` exited 1',
      setupFailed: true,
      setupMs: 900,
    });
    const done = await ran([[failed]]);
    expect(done.pointer.outcome).toBe('continue');
    expect(String(done.reply[0]?.content)).toContain('environment.setup failed: `npm ci` exited 1');
    expect(String(done.reply[0]?.content)).toContain('401 Unauthorized');
  });
});
