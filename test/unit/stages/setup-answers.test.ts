import { describe, expect, it } from 'vitest';
import { answerOf } from '../../../functions/stages/sandbox';
import { SETUP_INPUT_FILES, setupCacheKey, setupCacheObject } from '../../../functions/stages/setup-cache';

describe('what the model reads when environment.setup failed', () => {
  it('names the failing setup command and shows its output and exit code', () => {
    const answer = answerOf(
      {
        exitCode: 1,
        timedOut: false,
        head: 'npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd\n',
        tail: '',
        omittedChars: 0,
        durationMs: 900,
        unavailable: 'environment.setup failed: `npm ci` exited 1',
        setupFailed: true,
      },
      120,
    );
    expect(answer).toBe(
      'Error: the command was not run: environment.setup failed: `npm ci` exited 1\nexit_code: 1\n' +
        'npm ERR! 404 Not Found - GET https://registry.npmjs.org/left-padd\n',
    );
  });

  it('keeps a refusal without output to its reason', () => {
    const answer = answerOf(
      {
        exitCode: 126,
        timedOut: false,
        head: 'no bwrap',
        tail: '',
        omittedChars: 0,
        durationMs: 0,
        unavailable: 'no bwrap',
      },
      120,
    );
    expect(answer).toBe('Error: the command was not run: no bwrap');
  });
});

describe('the setup cache key', () => {
  const files = { 'package.json': '{"name":"a"}', 'package-lock.json': '{"lockfileVersion":3}' } as Record<
    string,
    string
  >;
  const keyOf = (
    overrides: Partial<Parameters<typeof setupCacheKey>[0]> = {},
    changed: Record<string, string> = {},
  ) =>
    setupCacheKey({
      repo: 'acme/widgets',
      setup: ['npm ci'],
      read: async (path) => ({ ...files, ...changed })[path],
      ...overrides,
    });

  it('is stable for the same inputs and case-insensitive in the repository name', async () => {
    const key = await keyOf();
    expect(key).toMatch(/^[a-f0-9]{64}$/);
    expect(await keyOf({ repo: 'ACME/Widgets' })).toBe(key);
    expect(await keyOf({}, { 'src/index.js': 'changed' })).toBe(key);
    expect(setupCacheObject('ACME/Widgets', key)).toBe(`setup-cache/acme/widgets/${key}.tar.gz`);
  });

  it('changes with a lock file, a manifest, the commands, the image or the repository', async () => {
    const key = await keyOf();
    const others = [
      await keyOf({}, { 'package-lock.json': '{"lockfileVersion":3,"packages":{}}' }),
      await keyOf({}, { 'yarn.lock': '# yarn' }),
      await keyOf({}, { 'package.json': '{"name":"b"}' }),
      await keyOf({ setup: ['npm ci', 'npm run build'] }),
      await keyOf({ image: 'node:22' }),
      await keyOf({ repo: 'acme/gadgets' }),
    ];
    for (const other of others) expect(other).not.toBe(key);
    expect(new Set(others).size).toBe(others.length);
    expect(SETUP_INPUT_FILES).toContain('Cargo.lock');
  });
});
