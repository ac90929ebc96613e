import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLlmDlqHandler } from '../../../functions/llm-dlq/app';
import { createLlmWorkerHandler } from '../../../functions/llm-worker/app';
import {
  FALLBACK_AFTER_WAIT_SECONDS,
  OVERLOADED_PER_MODEL,
  processLlmMessage,
} from '../../../functions/llm-worker/turn';
import {
  type LlmMessage,
  type LlmWorkerPorts,
  type Pricing,
  RetryLater,
} from '../../../functions/llm-worker/turn-types';
import { releaseTurnReservation, reservationId } from '../../../functions/shared/llm-lease';
import { BudgetItem } from '../../../functions/shared/store/budget';
import { askDailyAccount } from '../../../functions/shared/store/asks';
import { keys, monthlyBudgetAccount } from '../../../functions/shared/store/keys';
import { ModelPacer, notBeforeKey } from '../../../functions/llm-worker/pacing';
import { LlmError } from '../../../functions/shared/errors';
import type {
  Llm,
  LlmRequest,
  LlmResponse,
  LlmUsage,
  Log,
  Queue,
  Workflow,
} from '../../../functions/shared/ports';
import { makeRun, newRunId } from '../store/fixtures';
import { startTestDynamo, type TestDynamo } from '../../support/dynamodb';
import { lambdaContext } from '../../unit/webhook/helpers';

/** $3 per million input tokens, $15 per million output, cache reads at a tenth, writes at 1.25x. */
const pricing: Pricing = {
  costUsd: (_model, u) =>
    (u.inputTokens * 3 +
      u.outputTokens * 15 +
      u.cacheReadTokens * 0.3 +
      (u.cacheWrite5mTokens + u.cacheWrite1hTokens) * 3.75) /
    1e6,
  worstCaseUsd: (_model, input, maxTokens) => (input * 3 + maxTokens * 15) / 1e6,
};

const usage = (over: Partial<LlmUsage> = {}): LlmUsage => ({
  inputTokens: 1000,
  outputTokens: 200,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  ...over,
});

type Step = LlmResponse | LlmError;
class ScriptedLlm implements Llm {
  calls: LlmRequest[] = [];
  constructor(public steps: Step[]) {}
  async createMessage(request: LlmRequest): Promise<LlmResponse> {
    this.calls.push(request);
    const step = this.steps.shift();
    if (!step) throw new Error('no scripted response left');
    if (step instanceof LlmError) throw step;
    return { ...step, model: request.model };
  }
  async countTokens(): Promise<number> {
    return 1000;
  }
}

const toolUse: LlmResponse = {
  model: 'm',
  content: [{ type: 'tool_use', id: 'toolu_1', name: 'read_file', input: { path: 'a' } }],
  stopReason: 'tool_use',
  usage: usage(),
};

class RecordingWorkflow implements Workflow {
  successes: Array<{ token: string; output: unknown }> = [];
  failures: Array<{ token: string; error: string; cause: string }> = [];
  failNextSuccess = false;
  accept = true;
  async startRun() {
    return { executionArn: 'arn', started: true };
  }
  async stopRun() {}
  async sendTaskSuccess(token: string, output: unknown) {
    if (this.failNextSuccess) {
      this.failNextSuccess = false;
      throw new Error('simulated crash before the callback');
    }
    this.successes.push({ token, output });
    return this.accept;
  }
  async sendTaskFailure(token: string, error: string, cause: string) {
    this.failures.push({ token, error, cause });
    return this.accept;
  }
  async sendTaskHeartbeat() {
    return true;
  }
}

class RecordingQueue implements Queue {
  delays: Array<{ receiptHandle: string; seconds: number }> = [];
  async send() {}
  async changeVisibility(receiptHandle: string, seconds: number) {
    this.delays.push({ receiptHandle, seconds });
  }
}

const silent: Log = { debug() {}, info() {}, warn() {}, error() {} };

let db: TestDynamo;
beforeAll(async () => {
  db = await startTestDynamo();
});
afterAll(async () => {
  await db?.close();
});

/** A budget account's item as stored, with its reservation and settlement markers. */
const budgetItem = async (account: string) => {
  const item = (await db.doc.send(new GetCommand({ TableName: db.tableName, Key: keys.runBudget(account) })))
    .Item;
  return item ? BudgetItem.parse(item) : undefined;
};

interface Fixture {
  deps: LlmWorkerPorts;
  llm: ScriptedLlm;
  workflow: RecordingWorkflow;
  queue: RecordingQueue;
  message: LlmMessage;
}

async function fixture(
  steps: Step[],
  options: { budgetUsd?: number; models?: string[]; monthlyBudget?: { repo: string; limitUsd: number } } = {},
): Promise<Fixture> {
  const runId = newRunId();
  await db.store.createRun(makeRun({ runId }));
  const conversationId = `conv-${runId}`;
  await db.store.putConversation({
    conversationId,
    runId,
    stage: 'plan',
    modelAlias: 'planner',
    system: 'system prompt',
    tools: [{ name: 'read_file', description: 'read', input_schema: { type: 'object' } }],
    maxTokens: 4000,
    models: options.models ?? ['model-a', 'model-b'],
    budgetUsd: options.budgetUsd ?? 5,
    ...(options.monthlyBudget ? { monthlyBudget: options.monthlyBudget } : {}),
    createdAt: new Date(db.clock.now()).toISOString(),
  });
  await db.store.putTurn({
    conversationId,
    turn: 0,
    runId,
    stage: 'plan',
    role: 'user',
    content: [{ type: 'text', text: 'hello' }],
    createdAt: new Date(db.clock.now()).toISOString(),
  });
  const llm = new ScriptedLlm(steps);
  const workflow = new RecordingWorkflow();
  const queue = new RecordingQueue();
  const deps: LlmWorkerPorts = {
    store: db.store,
    workflow,
    queue,
    llm,
    clock: db.clock,
    log: silent,
    pricing,
  };
  const message: LlmMessage = {
    taskToken: `token-${runId}`,
    runId,
    stage: 'plan',
    conversationId,
    turn: 1,
    modelAlias: 'planner',
  };
  return { deps, llm, workflow, queue, message };
}

/** Every receive of a message gets its own receipt handle; copies of one message share its id. */
const delivery = (receiveCount = 1, messageId = 'm-1', receiptHandle = `rh-${receiveCount}`) => ({
  messageId,
  receiptHandle,
  receiveCount,
});

describe('LLM worker', () => {
  let f: Fixture;

  describe('a successful turn', () => {
    beforeEach(async () => {
      f = await fixture([toolUse, toolUse]);
      await processLlmMessage(f.deps, f.message, delivery());
    });

    it('calls the model once with the stored history and answers the token with a pointer', async () => {
      expect(f.llm.calls).toHaveLength(1);
      expect(f.llm.calls[0]?.messages).toEqual([
        { role: 'user', content: [{ type: 'text', text: 'hello' }] },
      ]);
      expect(f.llm.calls[0]?.model).toBe('model-a');
      expect(f.workflow.successes).toEqual([
        {
          token: f.message.taskToken,
          output: {
            conversationId: f.message.conversationId,
            turn: 1,
            stopReason: 'tool_use',
            toolNames: ['read_file'],
            model: 'model-a',
          },
        },
      ]);
      const stored = await db.store.getTurn(f.message.conversationId, 1);
      expect(stored?.role).toBe('assistant');
    });

    it('records the ledger to the cent and settles the budget to the actual cost', async () => {
      const expected = (1000 * 3 + 200 * 15) / 1e6; // $0.006
      const ledger = await db.store.listLedger(f.message.runId);
      expect(ledger).toHaveLength(1);
      expect(ledger[0]?.costUsd).toBeCloseTo(expected, 6);
      const run = await db.store.getRun(f.message.runId);
      expect(run?.ledger.llmCalls).toBe(1);
      expect(run?.ledger.inputTokens).toBe(1000);
      expect(run?.ledger.costUsd).toBeCloseTo(expected, 6);
      const budget = await db.store.getBudget(f.message.runId);
      expect(budget?.reservedUsd).toBe(0);
      expect(budget?.spentUsd).toBeCloseTo(expected, 6);
    });

    it('never calls or charges twice for a redelivered message, and re-sends the stored result', async () => {
      await processLlmMessage(f.deps, f.message, delivery(2));
      expect(f.llm.calls).toHaveLength(1);
      expect(f.workflow.successes).toHaveLength(2);
      expect(f.workflow.successes[1]?.output).toEqual(f.workflow.successes[0]?.output);
      expect(await db.store.listLedger(f.message.runId)).toHaveLength(1);
      expect((await db.store.getRun(f.message.runId))?.ledger.llmCalls).toBe(1);
    });
  });

  it('lets only one of two concurrent copies of a turn call the model; the other backs off', async () => {
    f = await fixture([toolUse, toolUse]);
    const results = await Promise.allSettled([
      processLlmMessage(f.deps, f.message, delivery(1, 'copy-a', 'rh-a')),
      processLlmMessage(f.deps, f.message, delivery(1, 'copy-b', 'rh-b')),
    ]);
    expect(f.llm.calls).toHaveLength(1);
    const backedOff = results.filter((r) => r.status === 'rejected');
    expect(backedOff).toHaveLength(1);
    expect((backedOff[0] as PromiseRejectedResult).reason).toBeInstanceOf(RetryLater);
    // When the delayed copy comes back it finds the stored answer: still one call, one charge.
    await processLlmMessage(f.deps, f.message, delivery(2, 'copy-b'));
    expect(f.llm.calls).toHaveLength(1);
    expect(f.workflow.successes).toHaveLength(2);
    expect(await db.store.listLedger(f.message.runId)).toHaveLength(1);
  });

  it('lets only one of two simultaneous SQS deliveries of the SAME message call the model', async () => {
    // At-least-once delivery: one MessageId, two receives, two receipt handles, at the same time.
    f = await fixture([toolUse, toolUse]);
    const results = await Promise.allSettled([
      processLlmMessage(f.deps, f.message, delivery(1, 'same', 'rh-first')),
      processLlmMessage(f.deps, f.message, delivery(1, 'same', 'rh-second')),
    ]);
    expect(f.llm.calls).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    await processLlmMessage(f.deps, f.message, delivery(2, 'same', 'rh-third'));
    expect(f.llm.calls).toHaveLength(1);
    const ledger = await db.store.listLedger(f.message.runId);
    expect(ledger).toHaveLength(1);
    const budget = await db.store.getBudget(f.message.runId);
    expect(budget?.reservedUsd).toBe(0);
    expect(budget?.spentUsd).toBeCloseTo(ledger[0]?.costUsd ?? -1, 6);
  });

  it('survives a crash between the call and the callback without a second call or charge', async () => {
    f = await fixture([toolUse, toolUse]);
    f.workflow.failNextSuccess = true;
    await expect(processLlmMessage(f.deps, f.message, delivery(1))).rejects.toThrow('simulated crash');
    await processLlmMessage(f.deps, f.message, delivery(2));
    expect(f.llm.calls).toHaveLength(1);
    expect(f.workflow.successes).toHaveLength(1);
    expect((await db.store.getRun(f.message.runId))?.ledger.llmCalls).toBe(1);
  });

  it('delays a 429 by its retry-after without sleeping, then succeeds on redelivery', async () => {
    f = await fixture([new LlmError('rate_limited', 'slow down', 17), toolUse]);
    const started = Date.now();
    await expect(processLlmMessage(f.deps, f.message, delivery(1))).rejects.toBeInstanceOf(RetryLater);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(f.queue.delays).toEqual([{ receiptHandle: 'rh-1', seconds: 17 }]);
    expect(f.workflow.successes).toHaveLength(0);
    db.clock.advance(17_000); // SQS redelivers it once the delay is over
    await processLlmMessage(f.deps, f.message, delivery(2));
    expect(f.workflow.successes).toHaveLength(1);
    expect(await db.store.listLedger(f.message.runId)).toHaveLength(1);
  });

  it('falls back along the model list after repeated 529s', async () => {
    const storm = Array.from(
      { length: OVERLOADED_PER_MODEL },
      () => new LlmError('overloaded', 'overloaded'),
    );
    f = await fixture([...storm, toolUse]);
    for (let i = 1; i <= OVERLOADED_PER_MODEL; i++) {
      await expect(processLlmMessage(f.deps, f.message, delivery(i))).rejects.toBeInstanceOf(RetryLater);
    }
    await processLlmMessage(f.deps, f.message, delivery(OVERLOADED_PER_MODEL + 1));
    expect(f.llm.calls.map((c) => c.model)).toEqual([...storm.map(() => 'model-a'), 'model-b']);
    expect(f.workflow.successes[0]?.output).toMatchObject({ model: 'model-b' });
  });

  it('falls back at once when a throttle asks to wait past the limit, and soon comes back on the next model', async () => {
    const throttle = new LlmError('rate_limited', 'throttled', FALLBACK_AFTER_WAIT_SECONDS + 60);
    f = await fixture([throttle, toolUse], { models: ['slow-a', 'model-b'] });
    const retry = await processLlmMessage(f.deps, f.message, delivery(1)).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(RetryLater);
    // Not the throttle's wait: the next model is tried a second later.
    expect((retry as RetryLater).delaySeconds).toBeLessThanOrEqual(1);
    await processLlmMessage(f.deps, f.message, delivery(2));
    expect(f.llm.calls.map((c) => c.model)).toEqual(['slow-a', 'model-b']);
    expect(f.workflow.successes[0]?.output).toMatchObject({ model: 'model-b' });
  });

  it('falls back after two throttles without a usable wait (Bedrock sends none)', async () => {
    const throttle = () => new LlmError('rate_limited', 'ThrottlingException', 10);
    f = await fixture([throttle(), throttle(), toolUse], { models: ['throttled-a', 'model-b'] });
    const first = await processLlmMessage(f.deps, f.message, delivery(1)).catch((e: unknown) => e);
    expect((first as RetryLater).delaySeconds).toBe(10);
    // The message comes back when the wait is over and calls the same model again.
    db.clock.advance(11_000);
    const second = await processLlmMessage(f.deps, f.message, delivery(2)).catch((e: unknown) => e);
    expect((second as RetryLater).delaySeconds).toBeLessThanOrEqual(1);
    await processLlmMessage(f.deps, f.message, delivery(3));
    expect(f.llm.calls.map((c) => c.model)).toEqual(['throttled-a', 'throttled-a', 'model-b']);
  });

  it('refuses an unpriced model before any call, naming the price key to set', async () => {
    f = await fixture([toolUse]);
    const deps = { ...f.deps, pricing: { ...pricing, isPriced: (model: string) => model !== 'model-a' } };
    await processLlmMessage(deps, f.message, delivery());
    expect(f.llm.calls).toHaveLength(0);
    expect(f.workflow.failures[0]?.error).toBe('UnpricedModel');
    expect(f.workflow.failures[0]?.cause).toContain('MODEL_CONFIG.prices["model-a"]');
  });

  it.each([
    ['spend_limit', 'LlmSpendLimit'],
    ['permanent', 'LlmPermanentError'],
  ] as const)('fails the task on a %s error without retrying or charging', async (kind, errorName) => {
    f = await fixture([new LlmError(kind, 'no')]);
    await processLlmMessage(f.deps, f.message, delivery());
    expect(f.workflow.failures.map((x) => x.error)).toEqual([errorName]);
    expect(f.queue.delays).toEqual([]);
    const budget = await db.store.getBudget(f.message.runId);
    expect(budget?.reservedUsd ?? 0).toBe(0);
    expect(budget?.spentUsd ?? 0).toBe(0);
  });

  it('refuses with BudgetExceeded before calling the model when the worst case does not fit', async () => {
    // worst case = (1000 * 3 + 4000 * 15) / 1e6 = $0.063 > $0.05
    f = await fixture([toolUse], { budgetUsd: 0.05 });
    await processLlmMessage(f.deps, f.message, delivery());
    expect(f.llm.calls).toHaveLength(0);
    expect(f.workflow.failures).toHaveLength(1);
    expect(f.workflow.failures[0]?.error).toBe('BudgetExceeded');
    expect(f.workflow.failures[0]?.cause).toContain('$0.0630');
  });

  it("refuses a call that does not fit the repo's monthly budget, across runs, and releases the run's reservation", async () => {
    // Each call's worst case is $0.063 (1000 input + 4000 output tokens); actual cost $0.006.
    const monthlyBudget = { repo: `acme/monthly-${newRunId()}`, limitUsd: 0.07 };
    const first = await fixture([toolUse], { monthlyBudget });
    await processLlmMessage(first.deps, first.message, delivery());
    expect(first.workflow.successes).toHaveLength(1);

    // $0.006 spent this month: $0.064 left, so a second run's $0.063 worst case still fits…
    const second = await fixture([toolUse], { monthlyBudget });
    await processLlmMessage(second.deps, second.message, delivery());
    expect(second.workflow.successes).toHaveLength(1);

    // …but a third does not ($0.058 left), though its own run budget is untouched.
    const third = await fixture([toolUse], { monthlyBudget });
    await processLlmMessage(third.deps, third.message, delivery());
    expect(third.llm.calls).toHaveLength(0);
    expect(third.workflow.failures.map((x) => x.error)).toEqual(['BudgetExceeded']);
    expect(third.workflow.failures[0]?.cause).toContain('monthly budget');
    const runBudget = await db.store.getBudget(third.message.runId);
    expect(runBudget?.reservedUsd ?? 0).toBe(0);
  });

  it("reserves anew at the fallback model's prices: a dearer fallback that does not fit is refused", async () => {
    const storm = Array.from(
      { length: OVERLOADED_PER_MODEL },
      () => new LlmError('overloaded', 'overloaded'),
    );
    // model-a: worst case $0.063; model-b costs ten times as much ($0.63), over the $0.10 budget.
    f = await fixture([...storm, toolUse], { budgetUsd: 0.1, models: ['model-a', 'model-b'] });
    const tenfold: Pricing = {
      costUsd: (model, u) => pricing.costUsd(model, u) * (model === 'model-b' ? 10 : 1),
      worstCaseUsd: (model, i, m) => pricing.worstCaseUsd(model, i, m) * (model === 'model-b' ? 10 : 1),
    };
    const deps = { ...f.deps, pricing: tenfold };
    for (let i = 1; i <= OVERLOADED_PER_MODEL; i++) {
      await expect(processLlmMessage(deps, f.message, delivery(i))).rejects.toBeInstanceOf(RetryLater);
      // Each failed attempt gave its reservation back.
      expect((await db.store.getBudget(f.message.runId))?.reservedUsd).toBe(0);
    }
    await processLlmMessage(deps, f.message, delivery(OVERLOADED_PER_MODEL + 1));
    expect(f.llm.calls.map((c) => c.model)).not.toContain('model-b');
    expect(f.workflow.failures.map((x) => x.error)).toEqual(['BudgetExceeded']);
    const budget = await db.store.getBudget(f.message.runId);
    expect((budget?.spentUsd ?? 0) + (budget?.reservedUsd ?? 0)).toBeLessThanOrEqual(0.1);
  });

  it('gives back a reservation when the run ended before the turn could finish', async () => {
    const monthlyBudget = { repo: `acme/ended-${newRunId()}`, limitUsd: 1 };
    f = await fixture([toolUse], { monthlyBudget });
    // A reservation left by an attempt that died mid-call (crash: nothing released it).
    const id = reservationId(f.message);
    const account = monthlyBudgetAccount(monthlyBudget.repo, db.clock.now());
    expect(await db.store.reserveBudget(f.message.runId, id, 0.066, 5)).toBe(true);
    expect(await db.store.reserveBudget(account, id, 0.066, 1)).toBe(true);
    const run = await db.store.getRun(f.message.runId);
    await db.store.updateRun(f.message.runId, run?.version ?? 0, { status: 'CANCELLED' });
    await processLlmMessage(f.deps, f.message, delivery(2));
    expect(f.llm.calls).toHaveLength(0);
    expect((await db.store.getBudget(f.message.runId))?.reservedUsd).toBe(0);
    expect((await db.store.getBudget(account))?.reservedUsd).toBe(0);
  });

  it('follows a monthly cap lowered mid-month', async () => {
    const repo = `acme/lowered-${newRunId()}`;
    const first = await fixture([toolUse], { monthlyBudget: { repo, limitUsd: 100 } });
    await processLlmMessage(first.deps, first.message, delivery());
    expect(first.workflow.successes).toHaveLength(1);
    const second = await fixture([toolUse], { monthlyBudget: { repo, limitUsd: 0.01 } });
    await processLlmMessage(second.deps, second.message, delivery());
    expect(second.llm.calls).toHaveLength(0);
    expect(second.workflow.failures.map((x) => x.error)).toEqual(['BudgetExceeded']);
  });

  it('keeps no per-call marker on the accounts once a turn is settled (a month of calls fits one item)', async () => {
    const repo = `acme/markers-${newRunId()}`;
    for (let i = 0; i < 3; i++) {
      const g = await fixture([toolUse], { monthlyBudget: { repo, limitUsd: 100 } });
      await processLlmMessage(g.deps, g.message, delivery());
      expect(g.workflow.successes).toHaveLength(1);
      const runItem = await budgetItem(g.message.runId);
      expect(Object.keys(runItem?.settled ?? {})).toEqual([]);
      // A redelivery after the answer settles nothing twice.
      await processLlmMessage(g.deps, g.message, delivery(2));
      expect((await db.store.getBudget(g.message.runId))?.spentUsd).toBeCloseTo(0.006, 6);
    }
    const account = monthlyBudgetAccount(repo, db.clock.now());
    const monthItem = await budgetItem(account);
    expect(Object.keys(monthItem?.settled ?? {})).toEqual([]);
    expect(Object.keys(monthItem?.reservations ?? {})).toEqual([]);
    expect((await db.store.getBudget(account))?.spentUsd).toBeCloseTo(0.018, 6);
  });

  it('settles and records the ledger on a redelivery after a crash between storing the turn and settling', async () => {
    f = await fixture([toolUse]);
    let crashed = false;
    const crashingStore = new Proxy(db.store, {
      get(target, prop, receiver) {
        if (prop === 'settleBudget' && !crashed) {
          return async () => {
            crashed = true;
            throw new Error('simulated crash before settling');
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    await expect(
      processLlmMessage({ ...f.deps, store: crashingStore }, f.message, delivery(1)),
    ).rejects.toThrow('simulated crash');
    expect((await db.store.getBudget(f.message.runId))?.reservedUsd).toBeGreaterThan(0);
    await processLlmMessage(f.deps, f.message, delivery(2));
    const budget = await db.store.getBudget(f.message.runId);
    expect(budget?.reservedUsd).toBe(0);
    expect(budget?.spentUsd).toBeCloseTo(0.006, 6);
    expect(f.llm.calls).toHaveLength(1);
    expect(await db.store.listLedger(f.message.runId)).toHaveLength(1);
    expect((await db.store.getRun(f.message.runId))?.ledger.llmCalls).toBe(1);
  });

  it('records cache writes by lifetime (5 minutes, 1 hour) as well as their total', async () => {
    f = await fixture([{ ...toolUse, usage: usage({ cacheWrite5mTokens: 120, cacheWrite1hTokens: 30 }) }]);
    await processLlmMessage(f.deps, f.message, delivery());
    const [entry] = await db.store.listLedger(f.message.runId);
    expect(entry).toMatchObject({ cacheWriteTokens: 150, cacheWrite5mTokens: 120, cacheWrite1hTokens: 30 });
  });

  it('acknowledges a message whose task token is no longer accepted', async () => {
    f = await fixture([toolUse]);
    f.workflow.accept = false;
    await expect(processLlmMessage(f.deps, f.message, delivery())).resolves.toBeUndefined();
  });

  it('reports only the records to retry as batch item failures, and drops poisoned ones', async () => {
    f = await fixture([]);
    const ok = await fixture([], { models: ['model-ok'] });
    // Records are processed concurrently: answer by model id, not by call order.
    const routed: Llm = {
      countTokens: async () => 1000,
      createMessage: async (request) => {
        if (request.model === 'model-ok') return { ...toolUse, model: request.model };
        throw new LlmError('server', 'boom');
      },
    };
    const handler = createLlmWorkerHandler({ ...f.deps, llm: routed });
    const record = (id: string, body: string) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body,
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:llm',
      awsRegion: 'us-east-1',
    });
    const event = {
      Records: [
        record('retry', JSON.stringify(f.message)),
        record('poison', '{not json'),
        record('bad-shape', JSON.stringify({ taskToken: 'tok', turn: 'x' })),
        record('done', JSON.stringify(ok.message)),
      ],
    } as unknown as SQSEvent;
    const result = await handler(event, { getRemainingTimeInMillis: () => 30_000 } as never);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'retry' }]);
    expect(f.workflow.failures.map((x) => [x.token, x.error])).toEqual([['tok', 'LlmProtocolError']]);
    expect(f.workflow.successes.map((x) => x.token)).toEqual([ok.message.taskToken]);
    expect(f.queue.delays.map((d) => d.receiptHandle)).toEqual(['rh-retry']);
  });
});

describe('LLM worker pacing', () => {
  const window = (remaining: number, resetInMs: number) => ({
    remaining,
    resetAt: db.clock.now() + resetInMs,
    limit: 120,
  });

  it('holds further messages without calling once the window is used up, until its reset', async () => {
    const model = 'paced-model-1';
    const first = await fixture([{ ...toolUse, rateLimit: window(0, 30_000) }], { models: [model] });
    await processLlmMessage(first.deps, first.message, delivery());
    expect(first.workflow.successes).toHaveLength(1);

    // Same container (same deps), another conversation on the same model.
    const second = await fixture([], { models: [model] });
    const deps = { ...first.deps, workflow: second.workflow, queue: second.queue };
    const held = processLlmMessage(deps, second.message, delivery(1, 'm-2'));
    await expect(held).rejects.toBeInstanceOf(RetryLater);
    expect(first.llm.calls).toHaveLength(1); // no second call
    expect(second.queue.delays).toEqual([{ receiptHandle: 'rh-1', seconds: 30 }]);
    expect((await db.store.getBudget(second.message.runId))?.reservedUsd ?? 0).toBe(0);

    db.clock.advance(30_000);
    first.llm.steps.push(toolUse);
    await processLlmMessage(deps, second.message, delivery(2, 'm-2'));
    expect(first.llm.calls).toHaveLength(2);
    expect(second.workflow.successes).toHaveLength(1);
  });

  it('counts calls started after a response as not yet in its remaining figure', async () => {
    const model = 'paced-model-2';
    const a = await fixture([], { models: [model] });
    const b = await fixture([], { models: [model] });
    const c = await fixture([toolUse], { models: [model] });
    const pacer = new ModelPacer(); // one container
    let bStarted: () => void = () => {};
    const bIsCalling = new Promise<void>((resolve) => {
      bStarted = resolve;
    });
    let releaseB: () => void = () => {};
    const bMayAnswer = new Promise<void>((resolve) => {
      releaseB = resolve;
    });
    // a is sent first; when it arrived one request was left, which b (sent meanwhile) has taken.
    const llmA: Llm = {
      countTokens: async () => 1000,
      createMessage: async (request) => {
        await bIsCalling;
        return { ...toolUse, model: request.model, rateLimit: window(1, 20_000) };
      },
    };
    const llmB: Llm = {
      countTokens: async () => 1000,
      createMessage: async (request) => {
        bStarted();
        await bMayAnswer;
        return { ...toolUse, model: request.model, rateLimit: window(0, 20_000) };
      },
    };
    const doneA = processLlmMessage({ ...a.deps, llm: llmA, pacer }, a.message, delivery(1, 'a'));
    await new Promise((resolve) => setTimeout(resolve, 50)); // a is admitted before b
    const doneB = processLlmMessage({ ...b.deps, llm: llmB, pacer }, b.message, delivery(1, 'b'));
    await doneA;
    await expect(processLlmMessage({ ...c.deps, pacer }, c.message, delivery(1, 'c'))).rejects.toBeInstanceOf(
      RetryLater,
    );
    expect(c.llm.calls).toHaveLength(0);
    expect(c.queue.delays).toEqual([{ receiptHandle: 'rh-1', seconds: 20 }]);
    releaseB();
    await doneB;
    expect(b.workflow.successes).toHaveLength(1);
  });

  it('shares the not-before time of a 429 with another worker instance through the store', async () => {
    const model = 'paced-model-3';
    const first = await fixture([new LlmError('rate_limited', 'slow down', 12)], { models: [model] });
    await expect(processLlmMessage(first.deps, first.message, delivery())).rejects.toBeInstanceOf(RetryLater);
    expect(Number(await db.store.cacheGet(notBeforeKey(model)))).toBe(db.clock.now() + 12_000);

    // A second container: fresh deps (and pacing memory), the same store.
    const second = await fixture([toolUse], { models: [model] });
    await expect(processLlmMessage(second.deps, second.message, delivery(1, 'm-2'))).rejects.toBeInstanceOf(
      RetryLater,
    );
    expect(second.llm.calls).toHaveLength(0);
    expect(second.queue.delays).toEqual([{ receiptHandle: 'rh-1', seconds: 12 }]);

    db.clock.advance(12_000);
    await processLlmMessage(second.deps, second.message, delivery(2, 'm-2'));
    expect(second.llm.calls).toHaveLength(1);
    expect(second.workflow.successes).toHaveLength(1);
  });

  it('does not pace a model whose answers carry no rate-limit headers', async () => {
    const f2 = await fixture([toolUse, toolUse], { models: ['unpaced-model'] });
    const other = await fixture([], { models: ['unpaced-model'] });
    await processLlmMessage(f2.deps, f2.message, delivery());
    await processLlmMessage({ ...f2.deps, workflow: other.workflow }, other.message, delivery(1, 'm-2'));
    expect(f2.llm.calls).toHaveLength(2);
    expect(other.workflow.successes).toHaveLength(1);
  });
});

describe('LLM dead-letter consumer', () => {
  it('fails every dead-lettered task with LlmUnavailable and counts them', async () => {
    const workflow = new RecordingWorkflow();
    let counted = 0;
    const handler = createLlmDlqHandler({ workflow, log: silent, countDeadLetter: (n) => (counted += n) });
    const records = [
      {
        messageId: '1',
        body: JSON.stringify({ taskToken: 't1', runId: 'r' }),
        attributes: { ApproximateReceiveCount: '5' },
      },
      { messageId: '2', body: 'garbage', attributes: {} },
      { messageId: '3', body: JSON.stringify({ taskToken: 't3' }), attributes: {} },
    ];
    await handler({ Records: records } as unknown as SQSEvent, lambdaContext('dlq'));
    expect(counted).toBe(3);
    expect(workflow.failures.map((x) => [x.token, x.error])).toEqual([
      ['t1', 'LlmUnavailable'],
      ['t3', 'LlmUnavailable'],
    ]);
  });

  it('reports a message whose task failure Step Functions did not take as a partial batch failure', async () => {
    const workflow = new RecordingWorkflow();
    const send = workflow.sendTaskFailure.bind(workflow);
    workflow.sendTaskFailure = async (token, error, cause) => {
      if (token === 'throttled')
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      return send(token, error, cause);
    };
    const handler = createLlmDlqHandler({ workflow, log: silent, countDeadLetter: () => {} });
    const records = [
      { messageId: 'a', body: JSON.stringify({ taskToken: 'throttled' }), attributes: {} },
      { messageId: 'b', body: JSON.stringify({ taskToken: 'fine' }), attributes: {} },
      { messageId: 'c', body: 'garbage', attributes: {} },
    ];
    const result = await handler({ Records: records } as unknown as SQSEvent, lambdaContext('dlq'));
    // Only the throttled one comes back; the unreadable one would only loop, so it is dropped.
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
    expect(workflow.failures.map((x) => x.token)).toEqual(['fine']);
  });

  it('settles a dead turn that was answered but never settled at what it cost', async () => {
    const f = await fixture([toolUse]);
    const id = reservationId(f.message);
    expect(await db.store.reserveBudget(f.message.runId, id, 0.066, 5)).toBe(true);
    const answered = {
      conversationId: f.message.conversationId,
      turn: f.message.turn,
      runId: f.message.runId,
      stage: 'plan',
      role: 'assistant' as const,
      content: toolUse.content,
      costUsd: 0.006,
      createdAt: new Date(db.clock.now()).toISOString(),
    };
    await db.store.putTurn(answered);
    const { meta } = await db.store.getConversationWithTurns(f.message.conversationId);
    await releaseTurnReservation({ store: db.store }, f.message, meta, answered);
    const budget = await db.store.getBudget(f.message.runId);
    expect(budget?.reservedUsd).toBe(0);
    expect(budget?.spentUsd).toBeCloseTo(0.006, 6);
    // Once settled, a second release changes nothing.
    const settled = await db.store.getTurn(f.message.conversationId, f.message.turn);
    await releaseTurnReservation({ store: db.store }, f.message, meta, settled);
    expect((await db.store.getBudget(f.message.runId))?.spentUsd).toBeCloseTo(0.006, 6);
  });

  it("gives back the dead turn's reservation on its run and on the repo's month", async () => {
    const monthlyBudget = { repo: `acme/dlq-${newRunId()}`, limitUsd: 1 };
    const f = await fixture([toolUse], { monthlyBudget });
    const id = reservationId(f.message);
    const account = monthlyBudgetAccount(monthlyBudget.repo, db.clock.now());
    // Left by an attempt that died mid-call, every time, until the message was dead-lettered.
    expect(await db.store.reserveBudget(f.message.runId, id, 0.066, 5)).toBe(true);
    expect(await db.store.reserveBudget(account, id, 0.066, 1)).toBe(true);
    const workflow = new RecordingWorkflow();
    const handler = createLlmDlqHandler({
      workflow,
      log: silent,
      countDeadLetter: () => {},
      releaseReservation: async (dead) => {
        const { meta, turns } = await db.store.getConversationWithTurns(dead.conversationId);
        await releaseTurnReservation(
          { store: db.store },
          dead,
          meta,
          turns.find((t) => t.turn === dead.turn),
        );
      },
    });
    const record = {
      messageId: 'dead',
      body: JSON.stringify(f.message),
      attributes: { ApproximateReceiveCount: '5' },
    };
    await handler({ Records: [record] } as unknown as SQSEvent, lambdaContext('dlq'));
    expect(workflow.failures.map((x) => x.error)).toEqual(['LlmUnavailable']);
    expect((await db.store.getBudget(f.message.runId))?.reservedUsd).toBe(0);
    expect((await db.store.getBudget(account))?.reservedUsd).toBe(0);
    expect((await db.store.getBudget(account))?.spentUsd).toBe(0);
  });
});

describe('LLM worker on copilot asks', () => {
  /** An ask of `keyHash` and its conversation, as functions/copilot/loop.ts starts them. */
  async function askFixture(keyHash: string, dailyLimitUsd: number): Promise<Fixture> {
    const askId = newRunId();
    const now = new Date(db.clock.now()).toISOString();
    await db.store.putAsk({
      askId,
      question: 'which runs failed today and why',
      status: 'PENDING',
      keyHash,
      repoPatterns: ['*/*'],
      proposals: [],
      ledger: {
        llmCalls: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
      },
      createdAt: now,
      updatedAt: now,
    });
    const conversationId = `ask-${askId}`;
    await db.store.putConversation({
      conversationId,
      runId: askId,
      stage: 'ask',
      modelAlias: 'fast',
      system: 'copilot',
      tools: [{ name: 'find_runs', description: 'find', input_schema: { type: 'object' } }],
      maxTokens: 4000,
      models: ['model-a'],
      budgetUsd: 0.5,
      dailyBudget: { account: askDailyAccount(keyHash, db.clock.now()), limitUsd: dailyLimitUsd },
      account: 'ask',
      createdAt: now,
    });
    await db.store.putTurn({
      conversationId,
      turn: 0,
      runId: askId,
      stage: 'ask',
      role: 'user',
      content: [{ type: 'text', text: 'which runs failed today and why' }],
      createdAt: now,
    });
    const llm = new ScriptedLlm([toolUse]);
    const workflow = new RecordingWorkflow();
    const queue = new RecordingQueue();
    const deps: LlmWorkerPorts = {
      store: db.store,
      workflow,
      queue,
      llm,
      clock: db.clock,
      log: silent,
      pricing,
    };
    const message: LlmMessage = {
      taskToken: `token-${askId}`,
      runId: askId,
      stage: 'ask',
      conversationId,
      turn: 1,
      modelAlias: 'fast',
    };
    return { deps, llm, workflow, queue, message };
  }

  it("ledgers each call on the ask, and refuses past the key's daily cap before calling", async () => {
    const keyHash = `key-${newRunId()}`;
    // Each call's worst case is $0.063; it costs $0.006. A $0.07 day fits two, not three.
    const first = await askFixture(keyHash, 0.07);
    await processLlmMessage(first.deps, first.message, delivery());
    expect(first.workflow.successes).toHaveLength(1);
    const ask = await db.store.getAsk(first.message.runId);
    expect(ask?.ledger.llmCalls).toBe(1);
    expect(ask?.ledger.costUsd).toBeCloseTo(0.006, 6);
    expect((await db.store.listLedger(first.message.runId)).map((e) => [e.stage, e.account])).toEqual([
      ['ask', 'ask'],
    ]);

    const second = await askFixture(keyHash, 0.07);
    await processLlmMessage(second.deps, second.message, delivery());
    expect(second.workflow.successes).toHaveLength(1);
    const third = await askFixture(keyHash, 0.07);
    await processLlmMessage(third.deps, third.message, delivery());
    expect(third.llm.calls).toHaveLength(0);
    expect(third.workflow.failures.map((x) => [x.error, x.cause.includes('daily copilot budget')])).toEqual([
      ['BudgetExceeded', true],
    ]);
    // Another key has its own day.
    const other = await askFixture(`key-${newRunId()}`, 0.07);
    await processLlmMessage(other.deps, other.message, delivery());
    expect(other.workflow.successes).toHaveLength(1);
    const day = await db.store.getBudget(askDailyAccount(keyHash, db.clock.now()));
    expect(day?.spentUsd).toBeCloseTo(0.012, 6);
    expect(day?.reservedUsd ?? 0).toBeCloseTo(0, 9);
    expect(day?.limitUsd).toBe(0.07);
  });
});
