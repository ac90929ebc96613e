/**
 * Single-table design: every key of the Code Factory table is built here, and only here.
 *
 * Table: pk (S), sk (S); TTL attribute `expiresAt` (epoch seconds). DynamoDB's TTL deletion is
 * lazy and dynalite never deletes, so readers treat `expiresAt <= now` as absent themselves.
 * GSI1 (gsi1pk, gsi1sk): runs by repo, newest first.
 * GSI2 (gsi2pk, gsi2sk): runs by status, newest first.
 * GSI3 (gsi3pk, gsi3sk): a WorkItem and its runs, in one Query.
 * GSI4 (gsi4pk, gsi4sk): runs by the calendar month (UTC) they were created in, newest first.
 *
 * Access patterns (each one request):
 * | pattern                          | request                                                     |
 * | -------------------------------- | ----------------------------------------------------------- |
 * | run by id                        | GetItem pk=RUN#<id> sk=RUN                                  |
 * | run + events timeline            | Query pk=RUN#<id> sk between "EVT#" and "RUN" (EVT# < RUN)  |
 * | run + approvals + ledger         | Query pk=RUN#<id>, filter attribute_not_exists(prevHash)    |
 * | runs by repo, newest first       | Query GSI1 gsi1pk=REPO#<owner/repo>, ScanIndexForward=false |
 * | runs by status, newest first     | Query GSI2 gsi2pk=STATUS#<status>, ScanIndexForward=false   |
 * | WorkItem + its runs              | Query GSI3 gsi3pk=WI#<key>, ScanIndexForward=false          |
 * | recent runs, all repos           | Query GSI4 gsi4pk=MONTH#<yyyy-mm>, ScanIndexForward=false   |
 * | pending wait by key              | GetItem pk=WAIT#<kind>#<key> sk=WAIT                        |
 * | approval by id                   | GetItem pk=APPROVAL#<id> sk=APPROVAL                        |
 * | approvals of a run               | Query pk=RUN#<id> begins_with(sk, "APPROVAL#")              |
 * | delivery dedupe                  | PutItem pk=DELIVERY#<id> if not exists or expired           |
 * | API key by hash                  | GetItem pk=APIKEY#<sha256> sk=APIKEY                        |
 * | Idempotency-Key                  | PutItem pk=IDEM#<scope>#<key> if not exists or expired      |
 * | conversation (meta + turns)      | Query pk=CONV#<id> (META sorts before TURN#)                |
 * | workspace files                  | Query pk=WS#<runId> begins_with(sk, "FILE#")                |
 * | budget of a run                  | GetItem pk=RUN#<id> sk=BUDGET                               |
 * | a repo's monthly budget          | GetItem pk=RUN#repo-month:<owner/repo>:<yyyy-mm> sk=BUDGET  |
 * | ledger entries of a run          | Query pk=RUN#<id> begins_with(sk, "CALL#")                  |
 * | short-lived cache                | GetItem pk=CACHE#<key> sk=CACHE                             |
 * | lease (one owner at a time)      | PutItem pk=LEASE#<key> if absent, expired or same owner     |
 * | copilot ask by id                | GetItem pk=ASK#<id> sk=ASK                                  |
 *
 * Under pk=RUN#<id> the sort keys order as APPROVAL# < BUDGET < CALL# < EVT# < RUN, so only the
 * events and the run item fall between "EVT#" and "RUN". The approval items there are copies for
 * the listing; the APPROVAL#<id> item decides. Each slice file (runs.ts, events.ts, ...) documents
 * the requests of its operations.
 */

import { canonicalRepo } from '../domain/run';

/**
 * Conversations and pending changes hold private source: they expire 30 days after they are
 * written, like the workspaces bucket's objects (docs/deploy.md, "Retention").
 */
export const PRIVATE_SOURCE_TTL_SECONDS = 30 * 24 * 3600;

export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  gsi: [
    { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { indexName: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { indexName: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
    { indexName: 'gsi4', partitionKey: 'gsi4pk', sortKey: 'gsi4sk' },
  ],
} as const;

export interface Key {
  pk: string;
  sk: string;
}

/** Zero-padded so lexical order equals numeric order. */
export const pad = (n: number, width = 10): string => String(n).padStart(width, '0');

export const keys = {
  run: (runId: string): Key => ({ pk: `RUN#${runId}`, sk: 'RUN' }),
  runEvent: (runId: string, seq: number): Key => ({ pk: `RUN#${runId}`, sk: `EVT#${pad(seq)}` }),
  runEventPrefix: 'EVT#',
  /** A budget account: a run id, or `monthlyBudgetAccount(...)` (never a ULID, so no clash). */
  runBudget: (runId: string): Key => ({ pk: `RUN#${runId}`, sk: 'BUDGET' }),
  runApproval: (runId: string, approvalId: string): Key => ({
    pk: `RUN#${runId}`,
    sk: `APPROVAL#${approvalId}`,
  }),
  runApprovalPrefix: 'APPROVAL#',
  /**
   * One item per billed model call. "CALL#" sorts before "EVT#" (like APPROVAL# and BUDGET), so
   * the run + events Query (sk between "EVT#" and "RUN") never has to skip ledger items.
   */
  runLedger: (runId: string, conversationId: string, turn: number): Key => ({
    pk: `RUN#${runId}`,
    sk: `CALL#${conversationId}#${pad(turn, 5)}`,
  }),
  /** Sandbox time a model turn's tool calls used: next to that turn's model call. */
  runSandboxLedger: (runId: string, conversationId: string, turn: number): Key => ({
    pk: `RUN#${runId}`,
    sk: `CALL#${conversationId}#${pad(turn, 5)}#sandbox`,
  }),
  runLedgerPrefix: 'CALL#',
  /** GSI projections written on the run item. */
  runByRepo: (repo: string, runId: string) => ({
    gsi1pk: `REPO#${canonicalRepo(repo)}`,
    gsi1sk: `RUN#${runId}`,
  }),
  runByStatus: (status: string, runId: string) => ({ gsi2pk: `STATUS#${status}`, gsi2sk: `RUN#${runId}` }),
  /**
   * Month buckets, not one partition for every run: each run item update (status, ledger) also
   * writes this index, and one month's partition is far below a partition's write limit.
   */
  runByMonth: (createdAt: string, runId: string) => ({
    gsi4pk: `MONTH#${createdAt.slice(0, 7)}`,
    gsi4sk: `RUN#${runId}`,
  }),
  runByWorkItem: (workItemKey: string, runId: string) => ({
    gsi3pk: `WI#${workItemKey}`,
    gsi3sk: `RUN#${runId}`,
  }),

  workItem: (workItemKey: string): Key => ({ pk: `WI#${workItemKey}`, sk: 'WI' }),
  /** The WorkItem sorts after its runs ("WI" > "RUN#…"), so newest-first queries return it first. */
  workItemInGsi3: (workItemKey: string) => ({ gsi3pk: `WI#${workItemKey}`, gsi3sk: 'WI' }),

  wait: (kind: string, waitKey: string): Key => ({ pk: `WAIT#${kind}#${waitKey}`, sk: 'WAIT' }),
  approval: (approvalId: string): Key => ({ pk: `APPROVAL#${approvalId}`, sk: 'APPROVAL' }),
  delivery: (deliveryId: string): Key => ({ pk: `DELIVERY#${deliveryId}`, sk: 'DELIVERY' }),
  apiKey: (keyHash: string): Key => ({ pk: `APIKEY#${keyHash}`, sk: 'APIKEY' }),
  idempotency: (scope: string, key: string): Key => ({ pk: `IDEM#${scope}#${key}`, sk: 'IDEM' }),
  conversation: (conversationId: string): Key => ({ pk: `CONV#${conversationId}`, sk: 'META' }),
  turn: (conversationId: string, turn: number): Key => ({
    pk: `CONV#${conversationId}`,
    sk: `TURN#${pad(turn, 5)}`,
  }),
  turnPrefix: 'TURN#',
  workspaceFile: (runId: string, path: string): Key => ({ pk: `WS#${runId}`, sk: `FILE#${path}` }),
  workspaceFilePrefix: 'FILE#',
  cache: (key: string): Key => ({ pk: `CACHE#${key}`, sk: 'CACHE' }),
  lease: (key: string): Key => ({ pk: `LEASE#${key}`, sk: 'LEASE' }),
  /** A copilot question and its answer (store/asks.ts). */
  ask: (askId: string): Key => ({ pk: `ASK#${askId}`, sk: 'ASK' }),
} as const;

/** The budget account of a repository's calendar month (UTC), for the optional monthly cap. */
export const monthlyBudgetAccount = (repo: string, atMs: number): string =>
  `repo-month:${canonicalRepo(repo)}:${new Date(atMs).toISOString().slice(0, 7)}`;
