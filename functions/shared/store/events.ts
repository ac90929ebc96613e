import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { canonicalJson, GENESIS_HASH, hashEvent } from '../domain/audit';
import { FactoryError, ValidationError } from '../errors';
import { keys } from './keys';
import { conditional, type Page, type PageRequest, type Table } from './table';

/** A run's audit trail: append-only and hash-chained (see domain/audit.ts). */
export const StoredAuditEvent = z.object({
  runId: z.string(),
  seq: z.number().int().nonnegative(),
  at: z.string(),
  type: z.string(),
  actor: z.string(),
  /** Small JSON-safe details: hashes and ids, never secrets or file contents. */
  data: z.record(z.string(), z.unknown()).optional(),
  prevHash: z.string(),
  hash: z.string(),
});
export type StoredAuditEvent = z.infer<typeof StoredAuditEvent>;

/** What a caller appends; the store numbers, timestamps and chains it. */
export type AuditEventInput = Pick<StoredAuditEvent, 'type' | 'actor' | 'data'>;

export interface EventStore {
  /** Conditional put on the next sequence number, chained to the previous event's hash. */
  appendEvent(runId: string, event: AuditEventInput): Promise<StoredAuditEvent>;
  listEvents(runId: string, page: PageRequest): Promise<Page<StoredAuditEvent>>;
}

/** Largest `data` of an audit event (canonical JSON): events hold hashes and ids, not contents. */
export const MAX_EVENT_DATA_BYTES = 16 * 1024;
/** appendEvent re-reads the chain head and retries this often when another appender wins. */
export const MAX_APPEND_ATTEMPTS = 24;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Where the run item records its chain head (docs/api.md, "Audit"): never part of the Run schema. */
export const AUDIT_HEAD_FIELDS = { seq: 'auditHeadSeq', hash: 'auditHeadHash' } as const;

export interface AuditHead {
  seq: number;
  hash: string;
}

/** The head recorded on a raw run item, if any (runs created before heads were recorded have none). */
export function auditHeadOf(runItem: Record<string, unknown>): AuditHead | undefined {
  const seq = runItem[AUDIT_HEAD_FIELDS.seq];
  const hash = runItem[AUDIT_HEAD_FIELDS.hash];
  return typeof seq === 'number' && typeof hash === 'string' ? { seq, hash } : undefined;
}

/**
 * UpdateItem RUN#<id>/RUN SET auditHeadSeq, auditHeadHash if the run exists and its recorded head
 * is older: the head only moves forward, so a late writer never lowers it. It lives on the run
 * item so that deleting trailing event items cannot also take the head with it.
 */
async function raiseHead(t: Table, runId: string, seq: number, hash: string): Promise<void> {
  await conditional(
    t.update({
      Key: keys.run(runId),
      UpdateExpression: 'SET #seq = :seq, #hash = :hash',
      ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#seq) OR #seq < :seq)',
      ExpressionAttributeNames: { '#seq': AUDIT_HEAD_FIELDS.seq, '#hash': AUDIT_HEAD_FIELDS.hash },
      ExpressionAttributeValues: { ':seq': seq, ':hash': hash },
    }),
  );
}

export function dynamoEvents(t: Table): EventStore {
  return {
    /**
     * Query pk=RUN#<id> begins_with(sk, "EVT#") descending Limit 1 (the chain head), then PutItem
     * RUN#<id>/EVT#<seq+1> if attribute_not_exists(sk), hashed with hashEvent over the head's hash.
     * A concurrent appender that took the same seq makes the put fail: re-read the head and retry
     * (bounded, with jitter), so concurrent appenders always leave a contiguous, valid chain.
     * Then the run item's recorded head is raised to this event (raiseHead). No transaction
     * (dynalite has none, and the put alone decides the seq): a crash between the two writes
     * leaves the head one event behind until the next append, which verify reports.
     */
    async appendEvent(runId, event) {
      if (event.data !== undefined && canonicalJson(event.data).length > MAX_EVENT_DATA_BYTES) {
        throw new ValidationError(`audit event data exceeds ${MAX_EVENT_DATA_BYTES} bytes`);
      }
      const pk = keys.run(runId).pk;
      for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
        const head = await t.doc.send(
          new QueryCommand({
            TableName: t.name,
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
            ExpressionAttributeValues: { ':pk': pk, ':evt': keys.runEventPrefix },
            ScanIndexForward: false,
            Limit: 1,
            ConsistentRead: true,
          }),
        );
        const last = head.Items?.[0] ? StoredAuditEvent.parse(head.Items[0]) : undefined;
        const seq = last ? last.seq + 1 : 0;
        const prevHash = last ? last.hash : GENESIS_HASH;
        const content = {
          runId,
          seq,
          at: t.isoNow(),
          type: event.type,
          actor: event.actor,
          ...(event.data === undefined ? {} : { data: event.data }),
        };
        const stored: StoredAuditEvent = { ...content, prevHash, hash: hashEvent(prevHash, content) };
        const item = { ...keys.runEvent(runId, seq), ...stored };
        if (await conditional(t.put(item, 'attribute_not_exists(sk)'))) {
          await raiseHead(t, runId, seq, stored.hash);
          return stored;
        }
        await sleep(Math.floor(Math.random() * (5 + attempt * 5)));
      }
      throw new FactoryError(
        'AuditAppendContention',
        `could not append to the audit chain of run ${runId} after ${MAX_APPEND_ATTEMPTS} attempts`,
      );
    },

    /** Query pk=RUN#<id> begins_with(sk, "EVT#"), ascending (sequence order). */
    async listEvents(runId, page) {
      const pk = keys.run(runId).pk;
      const result = await t.queryPage(
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :evt)',
          ExpressionAttributeValues: { ':pk': pk, ':evt': keys.runEventPrefix },
        },
        page,
        { pk },
      );
      return { items: result.items.map((i) => StoredAuditEvent.parse(i)), cursor: result.cursor };
    },
  };
}
