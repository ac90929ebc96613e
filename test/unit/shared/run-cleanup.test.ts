import { describe, expect, it } from 'vitest';
import { fenced } from '../../../functions/shared/run-cleanup';
import { statusDetail } from '../../../functions/shared/end-run';
import type { Run } from '../../../functions/shared/domain/run';

describe('fenced', () => {
  it('quotes text so that nothing inside can close the fence', () => {
    const hostile = 'ok\n```\n<img src=x onerror=alert(1)> @mallory\n````\nmore';
    const block = fenced(hostile);
    const fence = block.slice(0, block.indexOf('text'));
    expect(fence).toBe('`````');
    expect(block.endsWith(`\n${fence}`)).toBe(true);
    // The only lines that are exactly the fence are the opening and closing ones.
    expect(block.split('\n').filter((line) => line.startsWith(fence))).toHaveLength(2);
    expect(block).toContain(hostile);
  });

  it('uses a plain triple fence for ordinary text', () => {
    expect(fenced('npm test failed')).toBe('```text\nnpm test failed\n```');
  });
});

describe('statusDetail', () => {
  const base = {
    ledger: { costUsd: 0.5, llmCalls: 3 },
    stages: [],
    version: 12,
    transitions: 0,
    mergedSha: 'abcdef123',
  } as unknown as Run;

  it('says what a timeout means instead of repeating its class in a code block', () => {
    const detail = statusDetail({
      ...base,
      status: 'EXPIRED',
      error: { class: 'States.Timeout', cause: 'States.Timeout' },
    } as Run);
    expect(detail?.split('\n\n')[0]).toBe('Nobody approved the change in time. (States.Timeout)');
  });

  it('quotes a reject reason and says the change was taken back', () => {
    const detail = statusDetail(
      { ...base, status: 'REJECTED', error: { class: 'Rejected', cause: 'no <b>thanks</b>' } } as Run,
      { prClosed: 3, branchDeleted: 'factory/1-x' },
    );
    expect(detail).toContain('The pull request was closed and its branch deleted.');
    expect(detail).toContain('```text\nno <b>thanks</b>\n```');
  });

  it('reports a merge with its short SHA', () => {
    expect(statusDetail({ ...base, status: 'SUCCEEDED' } as Run)).toContain('merged as abcdef1');
  });

  it('ends with the model cost and the estimated infra cost, whatever the outcome', () => {
    // 3 calls: 4 × 3 + 10 = 22 transitions ($0.00055), 18 writes, 27 reads, 6 SQS requests,
    // stage runner 3 × 60 ms at 1 GB, worker 3 × 10 s at 0.5 GB (15.18 GB-s, 6 requests).
    const infra =
      22 * 0.000025 +
      15.18 * 0.0000133334 +
      6 * 0.0000002 +
      18 * 0.00000125 +
      27 * 0.00000025 +
      6 * 0.0000004;
    const line = `Cost: $${(0.5 + infra).toFixed(4)} (model $0.5000 over 3 calls, infra $${infra.toFixed(4)} estimated).`;
    expect(statusDetail({ ...base, status: 'SUCCEEDED' } as Run)).toMatch(
      new RegExp(`\\n\\n${line.replace(/[$().]/g, '\\$&')}$`),
    );
    expect(statusDetail({ ...base, status: 'FAILED' } as Run)).toContain(line);
  });
});
