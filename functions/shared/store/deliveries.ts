import * as z from 'zod';
import { ValidationError } from '../errors';
import { keys } from './keys';
import type { Table } from './table';

/** A webhook delivery, remembered for a while so a redelivery is recognised (dedupe). */
export const DeliveryState = z.enum(['RECORDED', 'STARTED', 'IGNORED', 'REFUSED', 'RESUMED']);
export type DeliveryState = z.infer<typeof DeliveryState>;

export const DeliveryRecord = z.object({
  deliveryId: z.string().min(1).max(200),
  event: z.string().max(100),
  state: DeliveryState,
  runId: z.string().optional(),
  reason: z.string().max(2000).optional(),
  receivedAt: z.string(),
});
export type DeliveryRecord = z.infer<typeof DeliveryRecord>;

/** What updateDelivery may change: anything but the id. */
export const DeliveryPatch = DeliveryRecord.omit({ deliveryId: true }).partial();

export interface DeliveryStore {
  /** true when this call recorded it first; otherwise the first record, if still readable. */
  recordDelivery(
    record: DeliveryRecord,
    ttlSeconds: number,
  ): Promise<{ first: boolean; existing?: DeliveryRecord }>;
  updateDelivery(deliveryId: string, patch: Partial<DeliveryRecord>): Promise<void>;
}

export function dynamoDeliveries(t: Table): DeliveryStore {
  return {
    /**
     * PutItem DELIVERY#<id> if attribute_not_exists(pk) OR expiresAt <= now (an expired record is
     * as good as absent). On a duplicate, a consistent GetItem returns the first record.
     */
    async recordDelivery(record, ttlSeconds) {
      const parsed = DeliveryRecord.parse(record);
      const key = keys.delivery(parsed.deliveryId);
      const claimed = await t.putIfAbsentOrExpired({ ...key, ...parsed, expiresAt: t.expiry(ttlSeconds) });
      if (claimed) return { first: true };
      const existing = await t.get(key);
      return { first: false, existing: existing ? DeliveryRecord.parse(existing) : undefined };
    },

    /** UpdateItem DELIVERY#<id> if attribute_exists(pk): SETs the patched fields (not the id). */
    async updateDelivery(deliveryId, patch) {
      // Parsing drops the id: it cannot be patched.
      const checked = DeliveryPatch.safeParse(patch);
      if (!checked.success) throw new ValidationError('invalid delivery patch');
      await t.updateFields(keys.delivery(deliveryId), checked.data, `delivery ${deliveryId}`);
    },
  };
}
