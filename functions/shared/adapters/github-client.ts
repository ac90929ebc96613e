import { createAppAuth } from '@octokit/auth-app';
import { Octokit as OctokitCore } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Log, RepoRef } from '../ports';

/**
 * The GitHub port over Octokit: `@octokit/core` with the retry and throttling plugins (the same
 * stack the `octokit` package assembles, without its REST endpoint table, App/OAuth helpers and
 * webhooks, which would put the webhook bundle over its 300 KB budget). Calls use route strings.
 *
 * Two auth modes, chosen by the secret's shape (see `parseGitHubCredentials`):
 * - personal token: one client;
 * - GitHub App: the installation of each repository is looked up once (cached), and each
 *   installation gets its own client whose `@octokit/auth-app` strategy caches the installation
 *   token until a minute before GitHub expires it, and refreshes it transparently.
 *
 * `baseUrl` is `GITHUB_API_URL`: api.github.com, a GHES `/api/v3`, or the embedded forge.
 */
const FactoryOctokit = OctokitCore.plugin(retry, throttling);
type Client = InstanceType<typeof FactoryOctokit>;
export type GitHubClient = Client;

export type GitHubCredentials =
  | { kind: 'token'; token: string }
  | { kind: 'app'; appId: string; privateKey: string };

/**
 * The GitHub secret holds either a bare token, `{"token": "…"}`, or
 * `{"appId": …, "privateKey": "-----BEGIN …"}` for a GitHub App.
 */
export function parseGitHubCredentials(secretValue: string): GitHubCredentials {
  const trimmed = secretValue.trim();
  if (!trimmed.startsWith('{')) {
    if (trimmed.length === 0) throw new Error('GitHub secret is empty');
    return { kind: 'token', token: trimmed };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error('GitHub secret is not valid JSON');
  }
  const value = parsed as { token?: unknown; appId?: unknown; privateKey?: unknown };
  if (typeof value.token === 'string' && value.token.length > 0) return { kind: 'token', token: value.token };
  if (
    (typeof value.appId === 'string' || typeof value.appId === 'number') &&
    typeof value.privateKey === 'string'
  ) {
    return { kind: 'app', appId: String(value.appId), privateKey: value.privateKey.replace(/\\n/g, '\n') };
  }
  throw new Error('GitHub secret must hold a token or an appId and privateKey');
}

export interface OctokitGitHubOptions {
  baseUrl: string;
  /** Resolved lazily on the first call (handlers build ports synchronously at module scope). */
  credentials: GitHubCredentials | (() => Promise<GitHubCredentials>);
  /** Replaces the global fetch (tests). */
  fetch?: typeof globalThis.fetch;
  /** One request's time limit (default 20 s): a hung connection fails and is retried. */
  requestTimeoutMs?: number;
  log?: Log;
  /** Retries of 5xx and network errors (plugin-retry). */
  retries?: number;
  /** How many times a primary or secondary rate limit is waited out before giving up. */
  rateLimitRetries?: number;
  /** A rate limit asking to wait longer than this fails fast instead (Lambda time is finite). */
  maxRetryAfterSeconds?: number;
  /** Unit of the retry and rate-limit waits (1000 = seconds, as GitHub means them; tests shrink it). */
  retryBaseMs?: number;
  /**
   * Minimum spacing of mutating requests and of notification-triggering ones. Unset keeps the
   * throttling plugin's defaults (1 s and 3 s per process, GitHub's guidance for content creation).
   */
  pacing?: { writeIntervalMs: number; notificationIntervalMs: number };
  /** How long a repository's installation id is remembered. */
  installationCacheMs?: number;
}

interface ThrottleOptions {
  method?: string;
  url?: string;
  request?: { retryCount?: number };
}

const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 451];

/** The Octokit clients of one set of credentials, one per GitHub App installation. */
export class GitHubClients {
  private credentials?: Promise<GitHubCredentials>;
  private tokenClient?: Client;
  private appClient?: Client;
  private readonly installationClients = new Map<number, Client>();
  private readonly installations = new Map<string, { id: Promise<number>; expiresAt: number }>();

  constructor(private readonly options: OctokitGitHubOptions) {}

  private resolveCredentials(): Promise<GitHubCredentials> {
    if (!this.credentials) {
      const source = this.options.credentials;
      const pending = typeof source === 'function' ? source() : Promise.resolve(source);
      this.credentials = pending;
      pending.catch(() => {
        if (this.credentials === pending) this.credentials = undefined;
      });
    }
    return this.credentials;
  }

  private newClient(
    auth: { token: string } | { appId: string; privateKey: string; installationId?: number },
  ) {
    const { options } = this;
    const rateLimitRetries = options.rateLimitRetries ?? 2;
    const maxWait = options.maxRetryAfterSeconds ?? 60;
    const onLimit = (kind: string) => (retryAfter: number, request: ThrottleOptions) => {
      const attempt = request.request?.retryCount ?? 0;
      const retrying = attempt < rateLimitRetries && retryAfter <= maxWait;
      options.log?.warn(`GitHub ${kind} rate limit`, {
        method: request.method,
        url: request.url,
        retryAfter,
        attempt,
        retrying,
      });
      return retrying;
    };
    const retryBaseMs = options.retryBaseMs ?? 1000;
    const throttle: Record<string, unknown> = {
      retryAfterBaseValue: retryBaseMs,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    };
    if (options.pacing) {
      throttle.write = intervalGroup(options.pacing.writeIntervalMs);
      throttle.notifications = intervalGroup(options.pacing.notificationIntervalMs);
    }
    const common = {
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      userAgent: 'code-factory',
      request: { fetch: withTimeout(options.fetch ?? globalThis.fetch, options.requestTimeoutMs ?? 20_000) },
      // 409 (conflict: a moved head, an existing ref) is an answer, not a transient failure.
      retry: { retries: options.retries ?? 2, retryAfterBaseValue: retryBaseMs, doNotRetry: DO_NOT_RETRY },
      throttle: throttle as never,
      log: {
        debug: () => {},
        info: () => {},
        warn: (message: string) => options.log?.warn(message),
        error: (message: string) => options.log?.error(message),
      },
    };
    if ('token' in auth) return new FactoryOctokit({ ...common, auth: auth.token });
    return new FactoryOctokit({ ...common, authStrategy: createAppAuth, auth });
  }

  /** The client for `repo`: the token's, or its installation's (looked up once, then cached). */
  async for(repo: RepoRef): Promise<Client> {
    const credentials = await this.resolveCredentials();
    if (credentials.kind === 'token') {
      this.tokenClient ??= this.newClient({ token: credentials.token });
      return this.tokenClient;
    }
    const installationId = await this.installationId(repo, credentials);
    let client = this.installationClients.get(installationId);
    if (!client) {
      client = this.newClient({
        appId: credentials.appId,
        privateKey: credentials.privateKey,
        installationId,
      });
      this.installationClients.set(installationId, client);
    }
    return client;
  }

  private installationId(repo: RepoRef, credentials: { appId: string; privateKey: string }): Promise<number> {
    const key = `${repo.owner}/${repo.repo}`.toLowerCase();
    const now = Date.now();
    const cached = this.installations.get(key);
    if (cached && cached.expiresAt > now) return cached.id;
    this.appClient ??= this.newClient({ appId: credentials.appId, privateKey: credentials.privateKey });
    const appClient = this.appClient;
    const id = appClient
      .request('GET /repos/{owner}/{repo}/installation', { owner: repo.owner, repo: repo.repo })
      .then((response) => Number((response.data as { id: number }).id));
    this.installations.set(key, { id, expiresAt: now + (this.options.installationCacheMs ?? 60 * 60_000) });
    id.catch(() => {
      if (this.installations.get(key)?.id === id) this.installations.delete(key);
    });
    return id;
  }
}

/**
 * A stand-in for the throttling plugin's Bottleneck groups: one serial lane per process that
 * spaces jobs at least `minTimeMs` apart (0 = no spacing).
 */
function intervalGroup(minTimeMs: number) {
  let nextSlot = 0;
  const lane = {
    schedule: async <T>(_options: unknown, job: (...args: unknown[]) => Promise<T>, ...args: unknown[]) => {
      if (minTimeMs > 0) {
        const now = Date.now();
        const wait = Math.max(0, nextSlot - now);
        nextSlot = Math.max(now, nextSlot) + minTimeMs;
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return job(...args);
    },
  };
  return { key: () => lane };
}

/** fetch with a time limit per request, unless the call brings its own signal (and so its own limit). */
function withTimeout(fetchImpl: typeof globalThis.fetch, timeoutMs: number): typeof globalThis.fetch {
  return (input, init) =>
    fetchImpl(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(timeoutMs) });
}
