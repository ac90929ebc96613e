import * as z from 'zod';
import { AlreadyExistsError, ValidationError } from '../errors';
import { keys, TABLE_KEYS } from './keys';
import { conditional, Expression, type Table } from './table';

/** One emailed approval request of a run: decided once, by the link's holder, before it expires. */
export const ApprovalRecord = z.object({
  approvalId: z.string().min(1).max(200),
  runId: z.string(),
  approver: z.string(),
  email: z.string(),
  headSha: z.string(),
  /** Epoch seconds: the TTL, and the end of the decision window. */
  expiresAt: z.number().int(),
  state: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'SUPERSEDED']),
  csrfHash: z.string(),
  decidedAt: z.string().optional(),
  comment: z.string().max(4000).optional(),
  userAgent: z.string().max(1000).optional(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

export type ApprovalUpdate = Pick<ApprovalRecord, 'state' | 'decidedAt' | 'comment' | 'userAgent'>;

export interface ApprovalStore {
  putApproval(record: ApprovalRecord): Promise<void>;
  getApproval(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** Conditional on state PENDING: true if this call decided it. */
  decideApproval(approvalId: string, update: ApprovalUpdate): Promise<boolean>;
  listApprovalsForRun(runId: string): Promise<ApprovalRecord[]>;
}

export function dynamoApprovals(t: Table): ApprovalStore {
  return {
    /**
     * PutItem APPROVAL#<id>/APPROVAL if attribute_not_exists(pk) (the record of truth, whose
     * `expiresAt` is the TTL), then PutItem RUN#<runId>/APPROVAL#<id> (a copy for the per-run
     * listing). Throws AlreadyExistsError for a duplicate id.
     */
    async putApproval(record) {
      const parsed = ApprovalRecord.parse(record);
      const approval = { ...keys.approval(parsed.approvalId), ...parsed };
      if (!(await conditional(t.put(approval, 'attribute_not_exists(pk)')))) {
        throw new AlreadyExistsError(`approval ${parsed.approvalId}`);
      }
      await t.put({ ...keys.runApproval(parsed.runId, parsed.approvalId), ...parsed });
    },

    /**
     * GetItem APPROVAL#<id>/APPROVAL. Returned even past `expiresAt` (until TTL deletes it), so
     * the approval page can say "expired" rather than "unknown"; decideApproval refuses it.
     */
    async getApproval(approvalId) {
      const item = await t.get(keys.approval(approvalId));
      return item ? ApprovalRecord.parse(item) : undefined;
    },

    /**
     * UpdateItem APPROVAL#<id>/APPROVAL if state = PENDING AND expiresAt > now, ReturnValues
     * ALL_NEW; the winner then refreshes the run's copy. true = this call decided it.
     */
    async decideApproval(approvalId, update) {
      if (update.state === 'PENDING') throw new ValidationError('a decision cannot be PENDING');
      const expr = new Expression();
      const state = expr.name('state');
      const sets = Object.entries(update)
        .filter(([, value]) => value !== undefined)
        .map(([field, value]) => `${field === 'state' ? state : expr.name(field)} = ${expr.value(value)}`);
      const result = await conditional(
        t.update({
          Key: keys.approval(approvalId),
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `${state} = ${expr.value('PENDING')} AND ${expr.name(TABLE_KEYS.ttlAttribute)} > ${expr.value(t.nowSeconds())}`,
          ...expr.attributes,
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!result) return false;
      const decided = ApprovalRecord.parse(result.Attributes);
      await t.put({ ...keys.runApproval(decided.runId, decided.approvalId), ...decided });
      return true;
    },

    /** Query pk=RUN#<id> begins_with(sk, "APPROVAL#") (all pages, bounded). */
    async listApprovalsForRun(runId) {
      const items = await t.queryAll(keys.run(runId).pk, keys.runApprovalPrefix);
      return items.map((i) => ApprovalRecord.parse(i));
    },
  };
}
