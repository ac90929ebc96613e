import type { AskView, AuditChainView, CostsView, RunSummaryView, RunView } from '../functions/api/schemas';

/**
 * A small client of the Code Factory REST API (docs/api.md) for the CLI: bearer key, error
 * envelope → ApiRequestError, connection problems → NetworkError, every request timed out.
 */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

export class NetworkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkError';
  }
}

export interface ClientOptions {
  url: string;
  apiKey: string;
  timeoutMs?: number;
}

export interface RunFilters {
  repo?: string;
  status?: string;
  kind?: string;
  limit?: number;
  nextToken?: string;
}

export type RunPoll =
  | { changed: true; run: RunView; etag?: string; retryAfterSeconds?: number }
  | { changed: false; retryAfterSeconds?: number };

const MAX_RETRY_AFTER_SECONDS = 3600;

export class FactoryClient {
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(private readonly options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new NetworkError(`not a URL: ${options.url}`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:')
      throw new NetworkError(`not an http(s) URL: ${options.url}`);
    this.base = base;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async listRuns(filters: RunFilters): Promise<{ runs: RunSummaryView[]; nextToken?: string }> {
    const query = new URLSearchParams();
    if (filters.repo) query.set('repo', filters.repo);
    if (filters.status) query.set('status', filters.status);
    if (filters.kind) query.set('kind', filters.kind);
    if (filters.limit !== undefined) query.set('limit', String(filters.limit));
    if (filters.nextToken) query.set('next_token', filters.nextToken);
    const { body } = await this.request('GET', `/v1/runs?${query}`);
    const page = body as { data: RunSummaryView[]; next_token?: string };
    return { runs: page.data, ...(page.next_token ? { nextToken: page.next_token } : {}) };
  }

  async getRun(runId: string): Promise<RunView> {
    const { body } = await this.request('GET', `/v1/runs/${encodeURIComponent(runId)}`);
    return (body as { data: RunView }).data;
  }

  /** Conditional GET: `changed: false` when the run is still what `etag` names (304). */
  async pollRun(runId: string, etag?: string): Promise<RunPoll> {
    const { status, body, headers } = await this.request(
      'GET',
      `/v1/runs/${encodeURIComponent(runId)}`,
      undefined,
      etag ? { 'if-none-match': etag } : {},
    );
    const retryAfter = Number(headers.get('retry-after') ?? Number.NaN);
    const retryAfterSeconds =
      Number.isFinite(retryAfter) && retryAfter >= 0
        ? Math.min(retryAfter, MAX_RETRY_AFTER_SECONDS)
        : undefined;
    const hint = retryAfterSeconds === undefined ? {} : { retryAfterSeconds };
    if (status === 304) return { changed: false, ...hint };
    const newEtag = headers.get('etag');
    return {
      changed: true,
      run: (body as { data: RunView }).data,
      ...(newEtag ? { etag: newEtag } : {}),
      ...hint,
    };
  }

  /** One page of GET /v1/runs/{id}/audit. */
  async getAuditPage(
    runId: string,
    nextToken?: string,
  ): Promise<{ chain: AuditChainView; nextToken?: string }> {
    const query = new URLSearchParams({ limit: '100', ...(nextToken ? { next_token: nextToken } : {}) });
    const { body } = await this.request('GET', `/v1/runs/${encodeURIComponent(runId)}/audit?${query}`);
    const page = body as { data: AuditChainView; next_token?: string };
    return { chain: page.data, ...(page.next_token ? { nextToken: page.next_token } : {}) };
  }

  /** GET /v1/costs with the given query (repo, from, to, group_by). */
  async getCosts(query: Record<string, string>): Promise<CostsView> {
    const { body } = await this.request('GET', `/v1/costs?${new URLSearchParams(query)}`);
    return (body as { data: CostsView }).data;
  }

  /** POST /v1/asks: the copilot's ask, PENDING. */
  async createAsk(request: { question: string; repo?: string }): Promise<AskView> {
    const { body } = await this.request('POST', '/v1/asks', request);
    return (body as { data: AskView }).data;
  }

  async getAsk(askId: string): Promise<AskView> {
    const { body } = await this.request('GET', `/v1/asks/${encodeURIComponent(askId)}`);
    return (body as { data: AskView }).data;
  }

  async cancelRun(runId: string): Promise<RunView> {
    const { body } = await this.request('POST', `/v1/runs/${encodeURIComponent(runId)}/cancel`);
    return (body as { data: RunView }).data;
  }

  async createRun(
    request: { repo: string; issue?: number; task?: string; kind?: string },
    idempotencyKey?: string,
  ): Promise<RunView> {
    const { body } = await this.request(
      'POST',
      '/v1/runs',
      request,
      idempotencyKey ? { 'idempotency-key': idempotencyKey } : {},
    );
    return (body as { data: RunView }).data;
  }

  private async request(
    method: string,
    path: string,
    json?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown; headers: Headers }> {
    const url = new URL(
      path.replace(/^\//, ''),
      this.base.href.endsWith('/') ? this.base : `${this.base.href}/`,
    );
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.options.apiKey}`,
      accept: 'application/json',
      ...extraHeaders,
    };
    if (json !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const reason =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
      throw new NetworkError(`cannot reach ${this.base.origin}: ${reason || 'request failed'}`);
    }
    if (response.status === 304) return { status: 304, body: undefined, headers: response.headers };
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = (body as { error?: { code?: string; message?: string; request_id?: string } } | undefined)
        ?.error;
      throw new ApiRequestError(
        response.status,
        error?.code ?? `HTTP${response.status}`,
        error?.message ?? `${method} ${path}: HTTP ${response.status}`,
        error?.request_id ?? response.headers.get('x-request-id') ?? undefined,
      );
    }
    return { status: response.status, body, headers: response.headers };
  }
}
