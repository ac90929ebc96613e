import { FactoryError } from '../errors';
import { keys, TABLE_KEYS } from './keys';
import { conditional, Expression, type Table } from './table';

/**
 * Claims: one conditional put on an item that expires, so of concurrent callers exactly one holds
 * it until its TTL passes. Idempotency keys remember who came first; leases who acts now.
 */
export interface ClaimStore {
  /**
   * Idempotency-Key for POST /v1/runs (and the claim on a WorkItem's next run): first writer wins,
   * later callers get the stored run id and the fingerprint of the first request (so a different
   * request under the same key is refused).
   */
  claimIdempotencyKey(
    scope: string,
    key: string,
    runId: string,
    ttlSeconds: number,
    fingerprint?: string,
  ): Promise<{ first: boolean; runId: string; fingerprint?: string }>;
  /**
   * A lease: acquired when absent, expired, or already held by `owner` (re-entrant). One owner at
   * a time until `ttlSeconds` pass; used so concurrent copies of one queue message never both act.
   */
  claimLease(key: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Deletes the lease if `owner` still holds it. */
  releaseLease(key: string, owner: string): Promise<void>;
}

export function dynamoClaims(t: Table): ClaimStore {
  return {
    /**
     * PutItem IDEM#<scope>#<key>/IDEM {runId, expiresAt} if attribute_not_exists(pk) OR expired;
     * a later caller gets the stored run id (consistent GetItem).
     */
    async claimIdempotencyKey(scope, key, runId, ttlSeconds, fingerprint) {
      const itemKey = keys.idempotency(scope, key);
      const claimed = await t.putIfAbsentOrExpired({
        ...itemKey,
        runId,
        ...(fingerprint === undefined ? {} : { fingerprint }),
        expiresAt: t.expiry(ttlSeconds),
      });
      if (claimed) return { first: true, runId, ...(fingerprint === undefined ? {} : { fingerprint }) };
      const existing = await t.get(itemKey);
      if (typeof existing?.runId !== 'string') {
        throw new FactoryError('IdempotencyConflict', 'idempotency key is held but unreadable; retry');
      }
      return {
        first: false,
        runId: existing.runId,
        ...(typeof existing.fingerprint === 'string' ? { fingerprint: existing.fingerprint } : {}),
      };
    },

    /** PutItem LEASE#<key> if absent, expired, or already held by `owner`: one conditional write. */
    async claimLease(key, owner, ttlSeconds) {
      const expr = new Expression();
      const lease = { ...keys.lease(key), owner, expiresAt: t.expiry(ttlSeconds) };
      const condition = `attribute_not_exists(pk) OR ${expr.name(TABLE_KEYS.ttlAttribute)} <= ${expr.value(t.nowSeconds())} OR ${expr.name('owner')} = ${expr.value(owner)}`;
      return Boolean(await conditional(t.put(lease, condition, expr)));
    },

    /** DeleteItem LEASE#<key> if owner = the given owner. */
    async releaseLease(key, owner) {
      await conditional(
        t.delete({
          Key: keys.lease(key),
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    },
  };
}
