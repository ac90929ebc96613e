import { describe, expect, it } from 'vitest';
import { isSecretPath, isVendoredPath, repoPath } from '../../../../functions/shared/domain/workspace-paths';

describe('repoPath', () => {
  it.each([
    ['src/a.ts', 'src/a.ts'],
    ['./src/a.ts', 'src/a.ts'],
    ['src//a.ts', 'src/a.ts'],
    ['src/../lib/b.ts', 'lib/b.ts'],
    ['src/', 'src'],
    ['.env', '.env'],
    ['.github/workflows/ci.yml', '.github/workflows/ci.yml'],
  ])('normalises %j to %j', (raw, path) => {
    expect(repoPath(raw)).toEqual({ path });
  });

  it.each([
    ['/etc/passwd', 'relative to the repository root'],
    ['C:/x', 'relative to the repository root'],
    ['~/x', 'relative to the repository root'],
    ['../secret', 'outside the repository'],
    ['a/../../b', 'outside the repository'],
    ['..', 'outside the repository'],
    ['a\\b', 'backslashes'],
    ['a\u0000b', 'control characters'],
    ['.git/config', 'inside a .git directory'],
    ['vendor/lib/.git/hooks/pre-commit', 'inside a .git directory'],
    ['.', 'repository root'],
    ['', 'repository root'],
  ])('refuses %j', (raw, why) => {
    const result = repoPath(raw);
    expect(result).toHaveProperty('error');
    expect((result as { error: string }).error).toContain(why);
  });

  it('accepts the root where a directory is meant', () => {
    expect(repoPath('', { allowRoot: true })).toEqual({ path: '' });
    expect(repoPath('.', { allowRoot: true })).toEqual({ path: '' });
    expect(repoPath('./', { allowRoot: true })).toEqual({ path: '' });
    expect(repoPath('../', { allowRoot: true })).toHaveProperty('error');
  });
});

describe('isSecretPath', () => {
  it.each([
    '.env',
    'app/.env',
    '.env.local',
    '.env.production',
    'certs/server.pem',
    'tls.key',
    'id_rsa',
    'home/.ssh/id_rsa.pub',
    'id_ed25519',
    '.npmrc',
    'credentials',
    '.aws/credentials',
    'ENV/.ENV',
  ])('%s holds secrets', (path) => {
    expect(isSecretPath(path)).toBe(true);
  });

  it.each([
    '.env.example',
    '.env.sample',
    '.env.template',
    'src/env.ts',
    'environment.md',
    'keys.ts',
    'credentials.md',
    'docs/keyboard.md',
    'package-lock.json',
  ])('%s does not', (path) => {
    expect(isSecretPath(path)).toBe(false);
  });
});

describe('isVendoredPath', () => {
  it.each(['node_modules/a/index.js', 'pkg/node_modules/b.js', '.git/HEAD', 'dist/app.min.js', 'x.min.css'])(
    '%s is vendored',
    (path) => {
      expect(isVendoredPath(path)).toBe(true);
    },
  );

  it.each(['package-lock.json', 'yarn.lock', 'src/min.js', 'src/admin.js', 'node_modules.md'])(
    '%s is not',
    (path) => {
      expect(isVendoredPath(path)).toBe(false);
    },
  );
});
