import type { DeliveryRecord } from '../shared/ports';
import { isoNow, type WebhookContext } from './context';

/** One GitHub delivery: its X-GitHub-Delivery id and `event.action`. */
export interface Delivery {
  id: string;
  event: string;
}

/** What the webhook answers: the HTTP status and the `data` of the JSON body. */
export interface Outcome {
  status: number;
  data: Record<string, unknown>;
}

export type Claim = { owned: true; record: DeliveryRecord } | { owned: false; outcome: Outcome };

/** A delivery that asks for nothing: answered 202, nothing written. */
export const ignored = (reason: string): Outcome => ({ status: 202, data: { status: 'ignored', reason } });

/**
 * Conditional write on the delivery id. The caller owns the delivery when it is the first copy, or
 * when it finds one left RECORDED by a crash; any other copy gets the answer for a duplicate.
 */
export async function claim(
  ctx: WebhookContext,
  delivery: Delivery,
  fields: Partial<DeliveryRecord>,
): Promise<Claim> {
  const record: DeliveryRecord = {
    deliveryId: delivery.id,
    event: delivery.event,
    state: 'RECORDED',
    receivedAt: isoNow(ctx),
    ...fields,
  };
  const result = await ctx.store.recordDelivery(record, ctx.config.deliveryTtlSeconds);
  if (result.first) return { owned: true, record };
  const existing = result.existing;
  if (!existing) return { owned: false, outcome: { status: 200, data: { status: 'duplicate' } } };
  // A refused or ignored delivery never created the run its claim reserved: do not point at it.
  const runId =
    existing.runId && existing.state !== 'REFUSED' && existing.state !== 'IGNORED'
      ? { runId: existing.runId }
      : {};
  if (existing.state !== 'RECORDED') {
    return {
      owned: false,
      outcome: { status: 200, data: { status: 'duplicate', state: existing.state, ...runId } },
    };
  }
  const age = ctx.clock.now() - Date.parse(existing.receivedAt);
  if (Number.isFinite(age) && age < ctx.config.inFlightMs) {
    return { owned: false, outcome: { status: 202, data: { status: 'in_progress', ...runId } } };
  }
  ctx.log.info('resuming a delivery left RECORDED', { deliveryId: delivery.id, ...runId });
  return { owned: true, record: existing };
}

/** Marks a claimed delivery REFUSED with its reason. */
export async function refuse(
  ctx: WebhookContext,
  delivery: Delivery,
  reason: string,
  extra: Record<string, unknown> = {},
): Promise<Outcome> {
  await ctx.store.updateDelivery(delivery.id, { state: 'REFUSED', reason });
  return { status: 200, data: { status: 'refused', reason, ...extra } };
}

/** Refusal of a delivery nobody claimed yet: one conditional write that records it REFUSED. */
export async function recordRefusal(
  ctx: WebhookContext,
  delivery: Delivery,
  reason: string,
): Promise<Outcome> {
  const claimed = await claim(ctx, delivery, { state: 'REFUSED', reason });
  if (!claimed.owned) return claimed.outcome;
  if (claimed.record.state === 'RECORDED') return refuse(ctx, delivery, reason);
  return { status: 200, data: { status: 'refused', reason } };
}
