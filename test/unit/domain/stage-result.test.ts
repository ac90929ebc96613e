import { describe, expect, it } from 'vitest';
import {
  ChangeResult,
  hasBlockingFindings,
  parseStageResult,
  PlanResult,
  ReviewResult,
  StageResult,
  stageResultJsonSchema,
} from '../../../functions/shared/domain/stage-result';

const plan = {
  status: 'COMPLETE',
  summary: 'Add slugify.',
  assumptions: ['Inputs are strings.'],
  acceptance_criteria: ["slugify('A b') returns 'a-b'"],
  files_to_touch: ['src/slugify.js', 'test/slugify.test.js'],
  test_plan: 'node:test cases',
  risks: [],
  cost_estimate_usd: 0.05,
};

describe('StageResult', () => {
  it('fills list defaults and accepts a plain COMPLETE', () => {
    const parsed = StageResult.parse({ status: 'COMPLETE', summary: 'done' });
    expect(parsed).toEqual({
      status: 'COMPLETE',
      summary: 'done',
      assumptions: [],
      questions: [],
      blockers: [],
    });
  });

  it('needs questions for NEEDS_CLARIFICATION and blockers for BLOCKED', () => {
    const noQuestions = StageResult.safeParse({ status: 'NEEDS_CLARIFICATION', summary: 's', questions: [] });
    expect(noQuestions.success).toBe(false);
    expect(noQuestions.error?.issues[0]?.path).toEqual(['questions']);
    const noBlockers = StageResult.safeParse({ status: 'BLOCKED', summary: 's' });
    expect(noBlockers.error?.issues[0]?.path).toEqual(['blockers']);
    expect(StageResult.safeParse({ status: 'BLOCKED', summary: 's', blockers: ['no access'] }).success).toBe(
      true,
    );
    expect(
      StageResult.safeParse({ status: 'NEEDS_CLARIFICATION', summary: 's', questions: ['which?'] }).success,
    ).toBe(true);
  });

  it('bounds sizes and rejects unknown statuses and empty summaries', () => {
    expect(StageResult.safeParse({ status: 'DONE', summary: 's' }).success).toBe(false);
    expect(StageResult.safeParse({ status: 'COMPLETE', summary: '   ' }).success).toBe(false);
    expect(StageResult.safeParse({ status: 'COMPLETE', summary: 'x'.repeat(4001) }).success).toBe(false);
    expect(
      StageResult.safeParse({ status: 'COMPLETE', summary: 's', assumptions: Array(21).fill('a') }).success,
    ).toBe(false);
    expect(
      StageResult.safeParse({ status: 'COMPLETE', summary: 's', questions: ['x'.repeat(1001)] }).success,
    ).toBe(false);
  });
});

describe('stage payloads', () => {
  it('accepts a complete plan and refuses one without criteria, files or test plan', () => {
    expect(PlanResult.safeParse(plan).success).toBe(true);
    for (const [field, value] of [
      ['acceptance_criteria', []],
      ['files_to_touch', []],
      ['test_plan', ''],
    ] as const) {
      const result = PlanResult.safeParse({ ...plan, [field]: value });
      expect(result.success, field).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual([field]);
    }
    expect(PlanResult.safeParse({ ...plan, files_to_touch: ['../etc/passwd'] }).success).toBe(false);
    expect(PlanResult.safeParse({ ...plan, cost_estimate_usd: -1 }).success).toBe(false);
  });

  it('accepts a BLOCKED plan with empty payload fields (what a model sends)', () => {
    const blocked = {
      status: 'BLOCKED',
      summary: 's',
      blockers: ['b'],
      acceptance_criteria: [],
      files_to_touch: [],
      test_plan: '',
      risks: [],
      cost_estimate_usd: 0,
    };
    expect(PlanResult.safeParse(blocked).success).toBe(true);
  });

  it('needs a commit message with a short subject for a COMPLETE change', () => {
    expect(
      ChangeResult.safeParse({ status: 'COMPLETE', summary: 's', commit_message: 'Add x\n\nBody' }).success,
    ).toBe(true);
    expect(ChangeResult.safeParse({ status: 'COMPLETE', summary: 's' }).success).toBe(false);
    expect(
      ChangeResult.safeParse({ status: 'COMPLETE', summary: 's', commit_message: 'x'.repeat(201) }).success,
    ).toBe(false);
  });

  it('validates review findings and detects blocking ones', () => {
    const review = ReviewResult.parse({
      status: 'COMPLETE',
      summary: 's',
      findings: [
        { severity: 'blocking', path: 'test/a.js', line: 1, message: 'missing test', blocking: true },
      ],
    });
    expect(review.findings[0]).toEqual({
      severity: 'blocking',
      path: 'test/a.js',
      line: 1,
      message: 'missing test',
    });
    expect(hasBlockingFindings(review)).toBe(true);
    expect(hasBlockingFindings({ findings: [{ severity: 'nit', message: 'm' }] })).toBe(false);
    expect(
      ReviewResult.safeParse({
        status: 'COMPLETE',
        summary: 's',
        findings: [{ severity: 'critical', message: 'm' }],
      }).success,
    ).toBe(false);
    expect(
      ReviewResult.safeParse({
        status: 'COMPLETE',
        summary: 's',
        findings: [{ severity: 'nit', message: 'm', line: 0 }],
      }).success,
    ).toBe(false);
    expect(
      ReviewResult.safeParse({
        status: 'COMPLETE',
        summary: 's',
        findings: Array(51).fill({ severity: 'nit', message: 'm' }),
      }).success,
    ).toBe(false);
  });

  it('parseStageResult returns model-readable errors', () => {
    const bad = parseStageResult('plan', { status: 'NEEDS_CLARIFICATION', summary: 's' });
    expect(bad).toEqual({
      ok: false,
      errors: ['questions: NEEDS_CLARIFICATION needs at least one question'],
    });
    const good = parseStageResult('implement', { status: 'COMPLETE', summary: 's', commit_message: 'Fix' });
    expect(good.ok && good.result.commit_message).toBe('Fix');
    expect(parseStageResult('review', 'nonsense').ok).toBe(false);
  });

  it('exposes a JSON schema for the terminal tools', () => {
    const schema = stageResultJsonSchema('plan') as {
      type: string;
      properties: Record<string, unknown>;
      required?: string[];
    };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['status', 'summary', 'acceptance_criteria', 'files_to_touch']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['status', 'summary']));
  });
});
