import * as z from 'zod';

/**
 * Private package registries (deployment config `sandbox.registries`, docs/deploy.md): a token
 * read from Secrets Manager by the sandbox's setup function and given to `environment.setup`
 * commands only, never to `run`, the checks, the cached setup output or any payload (decision
 * 0005). Each registry's token reaches the setup commands three ways, so the common tools need no
 * repository change:
 * - the environment variable `env` (for anything that reads one, e.g. an `.npmrc` line
 *   `//host/:_authToken=${NPM_TOKEN}`);
 * - `~/.npmrc`: `//host/:_authToken=${env}` (npm expands the variable; the file holds no token);
 * - `~/.netrc`: `machine host login <login> password <token>` (pip, uv, Go modules, curl, git).
 */

/** Variables every command already gets: a registry may not replace them. */
const RESERVED_NAMES = new Set(['PATH', 'HOME', 'TMPDIR', 'LANG', 'CI']);

export const SandboxRegistry = z.strictObject({
  /** The registry's host name (and port), as npm's `//host/` and netrc's `machine` name it. */
  host: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:\d{1,5})?$/i,
      'must be a host name, like npm.pkg.github.com',
    ),
  /** The Secrets Manager secret (ARN on AWS) whose string value is the token. */
  secretId: z.string().min(1).max(2048),
  /** The environment variable the setup commands read the token from. */
  env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]{0,63}$/, 'must be an upper-case variable name, like NPM_TOKEN')
    .refine((name) => !RESERVED_NAMES.has(name) && !name.startsWith('LD_') && !name.startsWith('BASH_'), {
      message: 'names a variable every command already has',
    }),
  /** netrc's login for the token (PyPI-style indexes want `__token__`); default `token`. */
  login: z
    .string()
    .regex(/^[^\s#]{1,128}$/, 'must be one word')
    .optional(),
});
export type SandboxRegistry = z.infer<typeof SandboxRegistry>;

export const SandboxRegistries = z.array(SandboxRegistry).max(20);

/** What a setup command gets on top of the usual environment: variables and files in its HOME. */
export interface SetupCredentials {
  env: Record<string, string>;
  /** Written into the command's HOME (mode 0600), named relative to it. */
  homeFiles: Record<string, string>;
  /** The token values, to keep them out of the setup's answer and its cached output. */
  secrets: string[];
}

/** A token that could break out of a netrc or environment line is refused, not escaped. */
const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;

export function setupCredentialsOf(
  registries: readonly SandboxRegistry[],
  tokens: readonly string[],
): SetupCredentials {
  const env: Record<string, string> = {};
  const npmrc: string[] = [];
  const netrc: string[] = [];
  for (const [i, registry] of registries.entries()) {
    const token = (tokens[i] ?? '').trim();
    if (!TOKEN_PATTERN.test(token))
      throw new Error(
        `the token of registry ${registry.host} (${registry.secretId}) is empty or not one printable word`,
      );
    env[registry.env] = token;
    npmrc.push(`//${registry.host}/:_authToken=\${${registry.env}}`);
    netrc.push(
      `machine ${registry.host.replace(/:\d+$/, '')} login ${registry.login ?? 'token'} password ${token}`,
    );
  }
  if (registries.length === 0) return { env, homeFiles: {}, secrets: [] };
  return {
    env,
    homeFiles: { '.npmrc': `${npmrc.join('\n')}\n`, '.netrc': `${netrc.join('\n')}\n` },
    secrets: Object.values(env),
  };
}

/** `text` with every secret replaced by a marker (a setup command's output goes to the model). */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}
