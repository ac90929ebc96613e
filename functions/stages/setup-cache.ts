import { createHash } from 'node:crypto';

/**
 * Where `environment.setup`'s output is cached: one archive per repository and key, the key a
 * hash of what decides that output: the setup commands, the image, and the root manifests and
 * lock files as the workspace holds them (base plus pending change), so a change to a lock file
 * makes a new setup. Nested manifests (monorepos) are not part of the key: list their lock files'
 * install in `environment.setup` and a change to them reuses the cache until it expires (30 days).
 */
export const SETUP_INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'requirements.txt',
  'requirements-dev.txt',
  'pyproject.toml',
  'poetry.lock',
  'uv.lock',
  'Pipfile.lock',
  'go.mod',
  'go.sum',
  'Cargo.toml',
  'Cargo.lock',
  'Gemfile.lock',
  'composer.lock',
] as const;

const SETUP_CACHE_FORMAT = 1;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export async function setupCacheKey(input: {
  repo: string;
  setup: readonly string[];
  image?: string;
  read: (path: string) => Promise<string | undefined>;
}): Promise<string> {
  const files = await Promise.all(
    SETUP_INPUT_FILES.map(async (path) => {
      const content = await input.read(path);
      return [path, content === undefined ? null : sha256(content)] as const;
    }),
  );
  return sha256(
    JSON.stringify({
      format: SETUP_CACHE_FORMAT,
      repo: input.repo.toLowerCase(),
      setup: input.setup,
      image: input.image ?? null,
      files,
    }),
  );
}

export const setupCacheObject = (repo: string, key: string): string =>
  `setup-cache/${repo.toLowerCase()}/${key}.tar.gz`;
