import { monotonicFactory } from 'ulid';
import { Run } from '../../../functions/shared/domain/run';

const nextUlid = monotonicFactory();

/** Time-ordered run ids: a later call sorts after an earlier one (newest-first assertions). */
export const newRunId = (): string => nextUlid();

export function makeRun(overrides: Partial<Run> = {}): Run {
  // Everything not given takes its schema default (empty timeline, zero ledger, no attempts).
  return Run.parse({
    runId: overrides.runId ?? newRunId(),
    kind: 'change',
    repo: 'acme/widgets',
    issueNumber: 7,
    workItemKey: 'acme/widgets#7',
    status: 'QUEUED',
    version: 0,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    trigger: { source: 'label', sender: 'octocat' },
    ...overrides,
  });
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
