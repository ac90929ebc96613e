import { monotonicFactory } from 'ulid';
import type { Run } from '../../../functions/shared/domain/run';

const nextUlid = monotonicFactory();

/** Time-ordered run ids: a later call sorts after an earlier one (newest-first assertions). */
export const newRunId = (): string => nextUlid();

export function makeRun(overrides: Partial<Run> = {}): Run {
  const runId = overrides.runId ?? newRunId();
  return {
    runId,
    kind: 'change',
    repo: 'acme/widgets',
    issueNumber: 7,
    workItemKey: 'acme/widgets#7',
    status: 'QUEUED',
    version: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    trigger: { source: 'label', sender: 'octocat' },
    stages: [],
    fixAttempts: 0,
    ledger: {
      llmCalls: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0,
    },
    transitions: 0,
    failureSignatures: [],
    clarifyRounds: 0,
    conversations: [],
    warnings: [],
    ...overrides,
  } as Run;
}

/** Reads every page through a paged call, bounded. */
export async function readAllPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; cursor?: string }>,
  maxPages = 50,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let pages = 1; pages <= maxPages; pages++) {
    const page = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.cursor;
    if (!cursor) return { items, pages };
  }
  throw new Error(`more than ${maxPages} pages`);
}
