import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheckJob } from '../../../local/forge/ci';
import { probeBwrap } from '../../../local/sandbox/bwrap';

/**
 * The forge's CI runs code a model wrote: under bubblewrap it sees its checkout, not the host's
 * files or the stack's environment, and still reaches the network as a CI machine does.
 */
const probe = probeBwrap();
const secretDir = mkdtempSync(join(tmpdir(), 'forge-ci-host-'));
const secretFile = join(secretDir, 'state.json');
writeFileSync(secretFile, '{"token":"forge-ci-host-secret"}');
afterAll(() => rmSync(secretDir, { recursive: true, force: true }));

describe.skipIf(!probe.available)('forge CI under bubblewrap', () => {
  it('runs the check in its checkout without the host files or environment', async () => {
    process.env.FORGE_CI_LEAK_PROBE = 'forge-ci-env-secret';
    try {
      const result = await runCheckJob({
        command: `cat package.json; cat ${secretFile} || echo hidden; env; echo "[$FORGE_CI_LEAK_PROBE]"; pwd`,
        checkout: async (dir) => {
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'package.json'), '{"name":"checked-out"}');
        },
        timeoutMs: 20_000,
      });
      expect(result.conclusion).toBe('success');
      expect(result.log).toContain('{"name":"checked-out"}');
      expect(result.log).toContain('hidden');
      expect(result.log).not.toContain('forge-ci-host-secret');
      expect(result.log).not.toContain('forge-ci-env-secret');
      expect(result.log).toContain('[]');
      // As on GitHub Actions: a suite testing its colour handling sees no NO_COLOR it did not set.
      expect(result.log).not.toContain('NO_COLOR');
      expect(result.log).not.toContain('FORCE_COLOR');
      expect(result.log).toContain('CI=true');
      expect(result.log.trim().split('\n').at(-1)).toBe(result.workdir);
    } finally {
      delete process.env.FORGE_CI_LEAK_PROBE;
    }
  });

  it('reports a failing command and its exit code', async () => {
    const result = await runCheckJob({
      command: 'echo broken; exit 3',
      checkout: async (dir) => {
        mkdirSync(dir, { recursive: true });
      },
      timeoutMs: 20_000,
    });
    expect(result).toMatchObject({ conclusion: 'failure', exitCode: 3 });
  });
});
