import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod';
import type { Run } from '../shared/domain/run';
import type { ErrorCode } from '../shared/http';
import type {
  ApiKeyStore,
  AskStore,
  BudgetStore,
  ApprovalStore,
  ClaimStore,
  EventStore,
  RequestPorts,
  RunStore,
  RunViewStore,
  WaitStore,
  Workflow,
} from '../shared/ports';
import type { Principal, Scope } from './auth';
import { bindingOf, derivePageKey, openPageToken, signPageToken } from './cursor';

export interface ApiConfig {
  /** Secrets Manager id of the key material page tokens are signed with (APPROVAL_KEY_SECRET_ID). */
  pageKeySecretId: string;
  /** Larger request bodies are refused with 413. */
  maxBodyBytes?: number;
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlSeconds?: number;
  /** Retry-After hints, seconds: runs waiting for people, and active runs. */
  retryAfterWaitingSeconds?: number;
  retryAfterActiveSeconds?: number;
}

/** The store slices the API reads and writes (waits and approvals: only to cancel a run). */
export type ApiStore = RunStore &
  Pick<BudgetStore, 'getBudget'> &
  RunViewStore &
  EventStore &
  ClaimStore &
  ApiKeyStore &
  WaitStore &
  ApprovalStore &
  Pick<AskStore, 'putAsk' | 'getAsk'>;

/** `github` only closes the PR of a cancelled run. */
export interface ApiPorts extends Omit<RequestPorts, 'store'> {
  store: ApiStore;
  config: ApiConfig;
  /** The copilot's state machine (one execution per ask); absent where it is not deployed. */
  asks?: Pick<Workflow, 'startRun'>;
}

export const API_DEFAULTS = {
  maxBodyBytes: 64 * 1024,
  idempotencyTtlSeconds: 24 * 3600,
  retryAfterWaitingSeconds: 60,
  retryAfterActiveSeconds: 2,
} as const;

/** A refusal with its HTTP status and stable code; the app turns it into the error envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ApiRequest {
  event: APIGatewayProxyEventV2;
  requestId: string;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Set for every route but the public ones. */
  principal?: Principal;
}

export interface ApiReply {
  status: number;
  /** The whole JSON body (already enveloped); undefined for an empty body. */
  body?: unknown;
  headers?: Record<string, string>;
}

export const reply = (status: number, body: unknown, headers: Record<string, string> = {}): ApiReply => ({
  status,
  body,
  headers,
});

/** zod → ValidationError 400 listing `path: message`. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 10)
    .map((issue) => `${[where, ...issue.path].join('.')}: ${issue.message}`);
  throw new ApiError(400, 'ValidationError', issues.join('; '));
}

export function principalOf(request: ApiRequest): Principal {
  if (!request.principal) throw new ApiError(401, 'Unauthorized', 'missing bearer API key');
  return request.principal;
}

export function requireScope(request: ApiRequest, scope: Scope): Principal {
  const principal = principalOf(request);
  if (!principal.scopes.has(scope))
    throw new ApiError(403, 'Forbidden', `this API key lacks the ${scope} scope`);
  return principal;
}

/** A repository named in the request itself: outside the key's patterns → 403 (nothing leaks). */
export function requireRepo(principal: Principal, repo: string): void {
  if (!principal.canSeeRepo(repo)) {
    throw new ApiError(403, 'Forbidden', `this API key does not cover ${repo}`);
  }
}

/** The same 404 for a missing run and for one outside the key's repos: existence never leaks. */
export function visibleRun(principal: Principal, runId: string, run: Run | undefined): Run {
  if (!run || !principal.canSeeRepo(run.repo)) throw new ApiError(404, 'NotFound', `run ${runId} not found`);
  return run;
}

/** Page tokens: signing key loaded through the Secrets port (cached there), derived once per value. */
export function createPageTokens(ports: Pick<ApiPorts, 'secrets' | 'config'>) {
  let derived: { from: string; key: Buffer } | undefined;
  async function key(): Promise<Buffer> {
    const value = await ports.secrets.get(ports.config.pageKeySecretId);
    if (derived?.from !== value) derived = { from: value, key: derivePageKey(value) };
    return derived.key;
  }
  return {
    async open(
      token: string | undefined,
      binding: Array<string | number | undefined>,
    ): Promise<string | undefined> {
      if (token === undefined) return undefined;
      const cursor = openPageToken(await key(), token, bindingOf(binding));
      if (cursor === undefined) throw new ApiError(400, 'BadRequest', 'next_token is invalid or was altered');
      return cursor;
    },
    async sign(cursor: string | undefined, binding: Array<string | number | undefined>) {
      return cursor === undefined ? undefined : signPageToken(await key(), cursor, bindingOf(binding));
    },
  };
}
export type PageTokens = ReturnType<typeof createPageTokens>;

/** Everything a route handler receives. */
export interface RouteContext extends ApiPorts {
  settings: Required<ApiConfig>;
  tokens: PageTokens;
  iso(): string;
}
