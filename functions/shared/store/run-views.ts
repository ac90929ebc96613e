import { Run } from '../domain/run';
import { ApprovalRecord } from './approvals';
import { type AuditHead, auditHeadOf, StoredAuditEvent } from './events';
import { keys } from './keys';
import { LedgerEntry } from './ledger';
import type { Page, PageRequest, Table } from './table';

/**
 * A run read together with what its partition holds (pk=RUN#<id>), one Query each: what the REST
 * API shows. The items belong to their own slices; only these reads span them.
 */
export interface RunViewStore {
  /**
   * One Query: the run's audit events in order (only those after seq `after` when given), then the
   * run item with the chain head it records, on the last page.
   */
  getRunWithEvents(
    runId: string,
    page: PageRequest,
    after?: number,
  ): Promise<{ run?: Run; head?: AuditHead; events: Page<StoredAuditEvent> }>;
  /** The run with its approvals and ledger entries, in one Query. */
  getRunDetail(runId: string): Promise<{ run?: Run; approvals: ApprovalRecord[]; ledger: LedgerEntry[] }>;
}

export function dynamoRunViews(t: Table): RunViewStore {
  return {
    /**
     * Query pk=RUN#<id>, sk BETWEEN "EVT#" (or "EVT#<after + 1>") AND "RUN", ascending: the events
     * in sequence order and then the run item. The run sorts after its events, so it arrives with
     * the last page; a caller that needs it earlier reads it with getRun.
     */
    async getRunWithEvents(runId, page, after) {
      const runKey = keys.run(runId);
      const from = after === undefined ? keys.runEventPrefix : keys.runEvent(runId, after + 1).sk;
      const result = await t.queryPage(
        {
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': runKey.pk, ':from': from, ':to': runKey.sk },
        },
        page,
        { pk: runKey.pk },
      );
      let run: Run | undefined;
      let head: AuditHead | undefined;
      const events: StoredAuditEvent[] = [];
      for (const item of result.items) {
        if (item.sk === runKey.sk) {
          run = Run.parse(item);
          head = auditHeadOf(item);
        } else events.push(StoredAuditEvent.parse(item));
      }
      return { run, ...(head ? { head } : {}), events: { items: events, cursor: result.cursor } };
    },

    /**
     * Query pk=RUN#<id> with a filter that drops the events: the run, its approvals (copies) and its
     * ledger entries in one request (more only if the partition passes 1 MB). What
     * GET /v1/runs/{id} shows.
     */
    async getRunDetail(runId) {
      const runKey = keys.run(runId);
      let run: Run | undefined;
      const approvals: ApprovalRecord[] = [];
      const ledger: LedgerEntry[] = [];
      const items = await t.queryEvery({
        KeyConditionExpression: 'pk = :pk',
        // A filter cannot name the sort key; only audit events carry a prevHash.
        FilterExpression: 'attribute_not_exists(#prevHash)',
        ExpressionAttributeNames: { '#prevHash': 'prevHash' },
        ExpressionAttributeValues: { ':pk': runKey.pk },
      });
      for (const item of items) {
        const sk = String(item.sk);
        if (sk === runKey.sk) run = Run.parse(item);
        else if (sk.startsWith(keys.runApprovalPrefix)) approvals.push(ApprovalRecord.parse(item));
        else if (sk.startsWith(keys.runLedgerPrefix)) ledger.push(LedgerEntry.parse(item));
      }
      return { run, approvals, ledger };
    },
  };
}
