import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { globMatches, globProblem, pathProblem } from '../../../functions/shared/domain/paths';

// Globs in the syntax both sides support (no negated classes, parentheses or extglobs).
const GLOBS = [
  '**',
  '*',
  'src/**',
  '**/x',
  'a/**/b',
  'a/**',
  '**/*.ts',
  'src/*',
  '{a,b}/x',
  'src/{lib,test}/**/*.{js,ts}',
  'a**',
  '**a',
  'a/**b',
  'x/**/**/y',
  '?',
  'a?c',
  '[abc]x',
  '[a-c]*',
  '.github/**',
  '**/.env.*',
  '**/Dockerfile.*',
  '**/requirements*.txt',
  '.github/*.yml',
  'docs/**/README.md',
  '*/*/*',
  '**/*/**/z',
  'a/*/c/**',
  '**/{x,y}/**',
];
const PATHS = [
  'a',
  'b',
  'x',
  'a/b',
  'a/x',
  'b/x',
  'src',
  'src/a.ts',
  'src/a/b.ts',
  'src/lib/x.js',
  'src/test/a/b.ts',
  'src/lib/x.md',
  'abc',
  'a/xb',
  'a/x/b',
  'x/y',
  'x/a/y',
  'x/a/b/y',
  'ax',
  'bx',
  'dx',
  '.github/workflows/ci.yml',
  '.github/factory.yml',
  '.env',
  'app/.env.local',
  'Dockerfile.dev',
  'svc/Dockerfile.prod',
  'requirements-dev.txt',
  'docs/README.md',
  'docs/a/b/README.md',
  'a/b/c',
  'a/b/c/d',
  'q/r/z',
  'q/z',
  'z',
  'k/x/m',
  'a.ts',
  '.hidden/a',
  'a/.b/c',
];

describe('glob matching', () => {
  it('agrees with picomatch (dot: true) on every glob/path pair of the corpus', () => {
    for (const glob of GLOBS) {
      expect(globProblem(glob), glob).toBeUndefined();
      const reference = picomatch(glob, { dot: true });
      for (const path of PATHS) {
        expect(globMatches(glob, path), `${glob} vs ${path}`).toBe(reference(path));
      }
    }
  });

  it('matches case-insensitively only when asked', () => {
    expect(globMatches('.github/workflows/**', '.GitHub/Workflows/ci.yml')).toBe(false);
    expect(globMatches('.github/workflows/**', '.GitHub/Workflows/ci.yml', true)).toBe(true);
    expect(globMatches('[!a]x', 'bx')).toBe(true);
    expect(globMatches('[^a]x', 'ax')).toBe(false);
    expect(globMatches('app/(group)/*', 'app/(group)/page.tsx')).toBe(true);
  });

  it('stays fast on globs that make regex engines backtrack forever', () => {
    const name = 'a'.repeat(255);
    const cases: Array<[string, string]> = [
      [`${'*a'.repeat(40)}b`, name],
      [`${'?*'.repeat(60)}b`, name],
      [`${'[a]*'.repeat(30)}b`, name],
      ['*a*a/*a*a/*a*a/*a*a/x', `${name.slice(5)}/${name.slice(5)}/${name.slice(5)}/${name.slice(5)}/y`],
      ['**/*a*/**/*a*/**/*a*/**/*a*/**/z', `${'a/'.repeat(380)}${name.slice(0, 200)}`],
    ];
    for (const [glob, path] of cases) {
      expect(globProblem(glob), glob).toBeUndefined();
      expect(pathProblem(path)).toBeUndefined();
      const started = performance.now();
      expect(globMatches(glob, path)).toBe(false);
      expect(performance.now() - started, glob).toBeLessThan(200);
    }
  });

  it('refuses unsupported or dangerous glob syntax', () => {
    expect(globProblem('*(a*)b')).toContain('extglobs');
    expect(globProblem('@(a|b)')).toContain('extglobs');
    expect(globProblem('{1..9}')).toContain("'..'");
    expect(globProblem('a{b')).toContain("'{'");
    expect(globProblem('a}b')).toContain("'}'");
    expect(globProblem('[abc')).toContain("'['");
    expect(globProblem('[[:alpha:]]')).toContain('POSIX');
    expect(globProblem('{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}')).toContain('alternatives');
    expect(globProblem(42)).toBe('must be a string');
    expect(pathProblem(`${'a'.repeat(256)}/b`)).toContain('255');
  });
});
