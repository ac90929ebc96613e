import type { RequestPorts } from '../shared/ports';
import { createMemo, type Memo } from './memo';

export interface WebhookConfig {
  /** Secrets Manager id of the webhook secret. */
  webhookSecretId: string;
  /** The factory's own login: its comments and labels never trigger anything. */
  factoryLogin: string;
  /** Larger bodies are refused with 413 before verification. */
  maxBodyBytes?: number;
  /** How long a delivery id is remembered (GitHub allows redelivery for 3 days). */
  deliveryTtlSeconds?: number;
  /** How long a sender's repository permission is trusted. */
  permissionCacheSeconds?: number;
  /**
   * A duplicate that finds a delivery still RECORDED for less than this assumes the first copy is
   * still working (GitHub gives up on a delivery after 10 s) and answers 202 without starting.
   */
  inFlightMs?: number;
  /** Upper bound on a courtesy comment posted on the ack path. */
  commentTimeoutMs?: number;
}

export interface WebhookPorts extends RequestPorts {
  config: WebhookConfig;
}

export const WEBHOOK_DEFAULTS = {
  maxBodyBytes: 1024 * 1024,
  deliveryTtlSeconds: 7 * 24 * 3600,
  permissionCacheSeconds: 300,
  inFlightMs: 10_000,
  commentTimeoutMs: 2_000,
} as const;

/** What every step of the webhook takes: the ports, the config with its defaults, the memo. */
export interface WebhookContext extends RequestPorts {
  config: Required<WebhookConfig>;
  /** Lives as long as the handler, so a warm container remembers permissions and labels. */
  memo: Memo;
}

export function webhookContext(ports: WebhookPorts): WebhookContext {
  return {
    ...ports,
    config: { ...WEBHOOK_DEFAULTS, ...ports.config },
    memo: createMemo(ports.clock),
  };
}

export const isoNow = (ctx: Pick<WebhookContext, 'clock'>): string => new Date(ctx.clock.now()).toISOString();
