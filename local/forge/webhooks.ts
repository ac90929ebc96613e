import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

/**
 * Webhook deliveries as GitHub makes them: a JSON body signed with HMAC-SHA256 over the exact raw
 * bytes (`X-Hub-Signature-256`), a delivery GUID, the event name and hook id. Deliveries go out one
 * at a time in the order they were raised, each attempt timed out, failures retried a bounded
 * number of times; every delivery is recorded so tests can inspect and redeliver it.
 */

export const HOOK_ID = 1;
export const HOOK_USER_AGENT = 'GitHub-Hookshot/forge';

export interface DeliveryAttempt {
  at: string;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

export interface DeliveryRecord {
  /** The X-GitHub-Delivery GUID (kept by redeliveries). */
  id: string;
  /** Position in the delivery log (unique, also across redeliveries). */
  seq: number;
  event: string;
  action?: string;
  url?: string;
  body: string;
  redelivery: boolean;
  status: 'pending' | 'delivered' | 'failed' | 'no_url';
  statusCode?: number;
  attempts: DeliveryAttempt[];
}

export interface WebhookSenderOptions {
  url?: string;
  secret: string;
  /** Attempts per delivery (first try included). Default 1: GitHub never retries on its own. */
  maxAttempts?: number;
  /** Per-attempt timeout; GitHub gives receivers 10 s. */
  attemptTimeoutMs?: number;
  /** Backoff before retry n (ms), the last value repeating. */
  retryDelaysMs?: number[];
  /** Deliveries kept in the log; older ones are dropped. */
  maxRecords?: number;
}

export class WebhookSender {
  private url: string | undefined;
  private readonly records: DeliveryRecord[] = [];
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private seq = 0;
  private closed = false;

  constructor(private readonly options: WebhookSenderOptions) {
    this.url = options.url;
  }

  setUrl(url: string | undefined): void {
    this.url = url;
  }

  get idle(): boolean {
    return this.pending === 0;
  }

  deliveries(): DeliveryRecord[] {
    return this.records.map((record) => ({ ...record, attempts: [...record.attempts] }));
  }

  /** Queues a delivery of `payload` for `event`; resolves with its record once it was attempted. */
  send(event: string, payload: Record<string, unknown>): Promise<DeliveryRecord> {
    const body = JSON.stringify(payload);
    const action = typeof payload.action === 'string' ? payload.action : undefined;
    return this.enqueue({ id: randomUUID(), event, body, redelivery: false, ...(action ? { action } : {}) });
  }

  /** GitHub's "Redeliver": the same body and the same delivery GUID, to the current URL. */
  redeliver(deliveryId: string): Promise<DeliveryRecord> {
    const original = this.records.find((record) => record.id === deliveryId);
    if (!original) return Promise.reject(new Error(`no delivery ${deliveryId}`));
    return this.enqueue({
      id: original.id,
      event: original.event,
      body: original.body,
      redelivery: true,
      ...(original.action ? { action: original.action } : {}),
    });
  }

  close(): void {
    this.closed = true;
  }

  private enqueue(
    base: Pick<DeliveryRecord, 'id' | 'event' | 'body' | 'redelivery'> & { action?: string },
  ): Promise<DeliveryRecord> {
    this.seq += 1;
    const record: DeliveryRecord = { ...base, seq: this.seq, status: 'pending', attempts: [] };
    this.records.push(record);
    const maxRecords = this.options.maxRecords ?? 1000;
    if (this.records.length > maxRecords) this.records.splice(0, this.records.length - maxRecords);
    this.pending += 1;
    const done = this.queue.then(() => this.deliver(record));
    this.queue = done.then(
      () => {},
      () => {},
    );
    return done.finally(() => {
      this.pending -= 1;
    });
  }

  private async deliver(record: DeliveryRecord): Promise<DeliveryRecord> {
    const url = this.url;
    if (!url || this.closed) {
      record.status = 'no_url';
      return record;
    }
    record.url = url;
    const signature = await sign(this.options.secret, record.body);
    const maxAttempts = this.options.maxAttempts ?? 1;
    const targetId = repositoryIdOf(record.body);
    const delays = this.options.retryDelaysMs ?? [200, 1000];
    for (let attempt = 1; attempt <= maxAttempts && !this.closed; attempt += 1) {
      const started = Date.now();
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': HOOK_USER_AGENT,
            'x-github-event': record.event,
            'x-github-delivery': record.id,
            'x-github-hook-id': String(HOOK_ID),
            'x-github-hook-installation-target-type': 'repository',
            ...(targetId === undefined ? {} : { 'x-github-hook-installation-target-id': targetId }),
            'x-hub-signature-256': signature,
          },
          body: record.body,
          signal: AbortSignal.timeout(this.options.attemptTimeoutMs ?? 10_000),
        });
        await response.arrayBuffer().catch(() => undefined);
        record.attempts.push({
          at: new Date(started).toISOString(),
          statusCode: response.status,
          durationMs: Date.now() - started,
        });
        record.statusCode = response.status;
        if (response.ok) {
          record.status = 'delivered';
          return record;
        }
      } catch (error) {
        record.attempts.push({
          at: new Date(started).toISOString(),
          error: error instanceof Error ? error.message : String(error),
          durationMs: Date.now() - started,
        });
      }
      if (attempt < maxAttempts) {
        const delay = delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    record.status = 'failed';
    return record;
  }
}

/** The repository's id in a payload: GitHub names it in X-GitHub-Hook-Installation-Target-ID. */
function repositoryIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { repository?: { id?: unknown } }).repository?.id;
    return typeof id === 'number' ? String(id) : undefined;
  } catch {
    return undefined;
  }
}
