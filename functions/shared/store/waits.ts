import * as z from 'zod';
import { keys } from './keys';
import { conditional, type Table } from './table';

/** A paused execution's task token, waiting for a reply, a CI result or a decision. */
export const WaitKind = z.enum(['clarify', 'checks', 'approval']);
export type WaitKind = z.infer<typeof WaitKind>;

export const PendingWait = z.object({
  kind: WaitKind,
  /** clarify: `owner/repo#issue`; checks: `owner/repo@sha`; approval: run id. */
  key: z.string().min(1).max(500),
  runId: z.string(),
  taskToken: z.string().min(1),
  createdAt: z.string(),
  /** Epoch seconds: the TTL. */
  expiresAt: z.number().int(),
});
export type PendingWait = z.infer<typeof PendingWait>;

export interface WaitStore {
  putWait(wait: PendingWait): Promise<void>;
  getWait(kind: WaitKind, key: string): Promise<PendingWait | undefined>;
  /** Conditional delete returning the wait: exactly one caller ever receives it. */
  takeWait(kind: WaitKind, key: string): Promise<PendingWait | undefined>;
}

export function dynamoWaits(t: Table): WaitStore {
  return {
    /**
     * PutItem WAIT#<kind>#<key>/WAIT, unconditional: a retried wait step stores its new task token
     * over the old one (the old token belongs to a failed attempt). `expiresAt` is the TTL.
     */
    async putWait(wait) {
      const parsed = PendingWait.parse(wait);
      await t.put({ ...keys.wait(parsed.kind, parsed.key), ...parsed });
    },

    /** GetItem WAIT#<kind>#<key>/WAIT; an expired wait reads as absent. */
    async getWait(kind, key) {
      const item = await t.get(keys.wait(kind, key));
      if (!item || !t.isLive(item)) return undefined;
      return PendingWait.parse(item);
    },

    /**
     * DeleteItem WAIT#<kind>#<key>/WAIT if attribute_exists(pk), ReturnValues ALL_OLD: DynamoDB
     * serialises the deletes, so exactly one concurrent caller receives the wait. An expired wait
     * is deleted and reported as absent.
     */
    async takeWait(kind, key) {
      const result = await conditional(
        t.delete({
          Key: keys.wait(kind, key),
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      );
      const old = result?.Attributes;
      return old && t.isLive(old) ? PendingWait.parse(old) : undefined;
    },
  };
}
