import * as z from 'zod';
import type {
  ApiKeyRecord,
  ApprovalRecord,
  ConversationMeta,
  ConversationTurn,
  DeliveryRecord,
  LedgerEntry,
  PendingWait,
  StoredAuditEvent,
  WorkspaceFile,
} from '../ports';

/**
 * Zod schemas for what the store reads back: items are parsed at this boundary, and the key
 * attributes (pk, sk, gsi*, bookkeeping) are stripped because z.object drops unknown keys.
 */
const JsonObject = z.record(z.string(), z.unknown());

export const StoredAuditEventSchema = z.object({
  runId: z.string(),
  seq: z.number().int().nonnegative(),
  at: z.string(),
  type: z.string(),
  actor: z.string(),
  data: JsonObject.optional(),
  prevHash: z.string(),
  hash: z.string(),
}) satisfies z.ZodType<StoredAuditEvent>;

export const DeliveryRecordSchema = z.object({
  deliveryId: z.string().min(1).max(200),
  event: z.string().max(100),
  state: z.enum(['RECORDED', 'STARTED', 'IGNORED', 'REFUSED', 'RESUMED']),
  runId: z.string().optional(),
  reason: z.string().max(2000).optional(),
  receivedAt: z.string(),
}) satisfies z.ZodType<DeliveryRecord>;

export const PendingWaitSchema = z.object({
  kind: z.enum(['clarify', 'checks', 'approval']),
  key: z.string().min(1).max(500),
  runId: z.string(),
  taskToken: z.string().min(1),
  createdAt: z.string(),
  expiresAt: z.number().int(),
}) satisfies z.ZodType<PendingWait>;

export const ApprovalRecordSchema = z.object({
  approvalId: z.string().min(1).max(200),
  runId: z.string(),
  approver: z.string(),
  email: z.string(),
  headSha: z.string(),
  expiresAt: z.number().int(),
  state: z.enum(['PENDING', 'APPROVED', 'REJECTED', 'SUPERSEDED']),
  csrfHash: z.string(),
  decidedAt: z.string().optional(),
  comment: z.string().max(4000).optional(),
  userAgent: z.string().max(1000).optional(),
}) satisfies z.ZodType<ApprovalRecord>;

export const ApiKeyRecordSchema = z.object({
  keyHash: z.string().min(1),
  name: z.string(),
  scopes: z.array(z.enum(['runs:read', 'runs:write'])),
  repoPatterns: z.array(z.string()),
  createdAt: z.string(),
  revoked: z.boolean().optional(),
}) satisfies z.ZodType<ApiKeyRecord>;

export const ConversationTurnSchema = z.object({
  conversationId: z.string().min(1),
  turn: z.number().int().nonnegative(),
  runId: z.string(),
  stage: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.custom<unknown>(() => true),
  model: z.string().optional(),
  stopReason: z.string().optional(),
  usage: z.record(z.string(), z.number()).optional(),
  costUsd: z.number().optional(),
  outcome: z.string().optional(),
  settled: z.boolean().optional(),
  createdAt: z.string(),
}) satisfies z.ZodType<ConversationTurn>;

export const ConversationMetaSchema = z.object({
  conversationId: z.string().min(1),
  runId: z.string(),
  stage: z.string(),
  modelAlias: z.enum(['planner', 'coder', 'reviewer', 'fast']),
  system: z.string(),
  tools: z.array(z.object({ name: z.string(), description: z.string(), input_schema: JsonObject })),
  maxTokens: z.number().int().positive(),
  models: z.array(z.string()),
  budgetUsd: z.number().nonnegative(),
  monthlyBudget: z.object({ repo: z.string(), limitUsd: z.number().positive() }).optional(),
  createdAt: z.string(),
}) satisfies z.ZodType<ConversationMeta>;

export const LedgerEntrySchema = z.object({
  runId: z.string(),
  stage: z.string(),
  conversationId: z.string(),
  turn: z.number().int().nonnegative(),
  model: z.string(),
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cacheReadTokens: z.number().int().nonnegative(),
  cacheWriteTokens: z.number().int().nonnegative(),
  cacheWrite5mTokens: z.number().int().nonnegative().optional(),
  cacheWrite1hTokens: z.number().int().nonnegative().optional(),
  costUsd: z.number().nonnegative(),
  latencyMs: z.number().nonnegative(),
  at: z.string(),
}) satisfies z.ZodType<LedgerEntry>;

export const WorkspaceFileSchema = z.object({
  path: z.string().min(1),
  content: z.string().optional(),
  deleted: z.boolean(),
  updatedAt: z.string(),
}) satisfies z.ZodType<WorkspaceFile>;

/** Stored per run at keys.runBudget; amounts are integer micro-dollars (see DynamoStore). */
export const BudgetItemSchema = z.object({
  limitMicros: z.number().int(),
  reservedMicros: z.number().int(),
  spentMicros: z.number().int(),
  availableMicros: z.number().int(),
  reservations: z.record(z.string(), z.number().int()).default({}),
  settled: z.record(z.string(), z.number().int()).default({}),
});
export type BudgetItem = z.infer<typeof BudgetItemSchema>;
