import * as z from 'zod';
import { emptyLedger, LedgerTotals } from '../domain/run';
import { keys } from './keys';
import { conditional, type Table } from './table';

/**
 * Copilot asks (SPEC §7 `POST /v1/asks`): a question, who asked it (the API key's hash and the
 * repo patterns it may see), and, once the ask state machine wrote it, the answer and proposed
 * actions. One item, ASK#<id>/ASK, expiring after ASK_TTL_SECONDS (read as absent after that).
 * Model calls of an ask are ledgered like a run's: entries under RUN#<askId>/CALL#…, totals here.
 */
export const ASK_TTL_SECONDS = 7 * 24 * 3600;

export const ASK_STATUSES = ['PENDING', 'ANSWERED', 'FAILED'] as const;
export const AskStatus = z.enum(ASK_STATUSES);

/** What a proposal may do: only endpoints that exist, and only when a person confirms it. */
export const PROPOSAL_ACTIONS = ['retry', 'cancel', 'open_run', 'open_approval'] as const;

export const Proposal = z.object({
  action: z.enum(PROPOSAL_ACTIONS),
  /** The run the action is about. */
  target: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  /** The request a person's confirmation sends (built from the action, never from model text). */
  payload: z.object({
    method: z.enum(['GET', 'POST']),
    path: z.string().max(200),
    body: z.record(z.string(), z.unknown()).optional(),
  }),
  reason: z.string().max(1000),
});
export type Proposal = z.infer<typeof Proposal>;

export const Ask = z.object({
  askId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  question: z.string().min(1).max(2000),
  repo: z.string().max(200).optional(),
  status: AskStatus,
  /** SHA-256 of the API key that asked: only it reads the ask; its daily cap is charged. */
  keyHash: z.string().min(1),
  /** The key's repo patterns when it asked: the copilot's tools see only these repositories. */
  repoPatterns: z.array(z.string()).max(50),
  answer: z.string().max(8000).optional(),
  proposals: z.array(Proposal).max(10).default([]),
  error: z.object({ class: z.string().max(100), cause: z.string().max(2000) }).optional(),
  ledger: LedgerTotals.default(emptyLedger),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Ask = z.infer<typeof Ask>;

export type AskOutcome =
  | { status: 'ANSWERED'; answer: string; proposals: Proposal[] }
  | { status: 'FAILED'; error: { class: string; cause: string } };

export interface AskStore {
  putAsk(ask: Ask): Promise<void>;
  getAsk(askId: string): Promise<Ask | undefined>;
  /** Ends a PENDING ask once; false when it had already ended (a retried step). */
  finishAsk(askId: string, outcome: AskOutcome): Promise<boolean>;
}

const ASK_FIELDS = new Set(Object.keys(Ask.shape));

export function dynamoAsks(t: Table): AskStore {
  return {
    /** PutItem ASK#<id>/ASK (expiring) if attribute_not_exists(pk). */
    async putAsk(ask) {
      const parsed = Ask.parse(ask);
      await t.put(
        { ...keys.ask(parsed.askId), ...parsed, expiresAt: t.expiry(ASK_TTL_SECONDS) },
        'attribute_not_exists(pk)',
      );
    },

    /** GetItem ASK#<id>/ASK; an expired ask is absent. */
    async getAsk(askId) {
      const item = await t.get(keys.ask(askId));
      if (!item || !t.isLive(item)) return undefined;
      return Ask.parse(Object.fromEntries(Object.entries(item).filter(([k]) => ASK_FIELDS.has(k))));
    },

    /** UpdateItem ASK#<id>/ASK SET status, answer|error, proposals, updatedAt if status = PENDING. */
    async finishAsk(askId, outcome) {
      const values: Record<string, unknown> = {
        ':status': outcome.status,
        ':pending': 'PENDING',
        ':now': t.isoNow(),
      };
      let set = '#status = :status, updatedAt = :now';
      if (outcome.status === 'ANSWERED') {
        values[':answer'] = outcome.answer.slice(0, 8000);
        values[':proposals'] = z.array(Proposal).max(10).parse(outcome.proposals);
        set += ', answer = :answer, proposals = :proposals';
      } else {
        values[':error'] = {
          class: outcome.error.class.slice(0, 100),
          cause: outcome.error.cause.slice(0, 2000),
        };
        set += ', #error = :error';
      }
      const done = await conditional(
        t.update({
          Key: keys.ask(askId),
          UpdateExpression: `SET ${set}`,
          ConditionExpression: 'attribute_exists(pk) AND #status = :pending',
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(outcome.status === 'FAILED' ? { '#error': 'error' } : {}),
          },
          ExpressionAttributeValues: values,
        }),
      );
      return done !== undefined;
    },
  };
}

/** An API key's daily copilot account (budget store): never a ULID, so no clash with runs. */
export const askDailyAccount = (keyHash: string, atMs: number): string =>
  `ask-day:${keyHash.slice(0, 16)}:${new Date(atMs).toISOString().slice(0, 10)}`;
