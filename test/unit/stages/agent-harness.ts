import { createHash } from 'node:crypto';
import { Run as RunSchema } from '../../../functions/shared/domain/run';
import { defaultTurns, type StageTurns } from '../../../functions/shared/domain/turns';
import type { GitHub } from '../../../functions/shared/ports';
import { type RunContract, repoOf } from '../../../functions/shared/run-contract';
import { type AgentSpec, finishSandboxTurn, runAgentTools } from '../../../functions/stages/agent';
import type { SandboxOutcome } from '../../../functions/shared/domain/sandbox-job';
import type { StagePorts } from '../../../functions/stages/deps';
import { implementSpec } from '../../../functions/stages/implement';
import { FakeStore } from '../../support/fake-store';
import { MemoryBlobs } from '../../support/memory-blobs';
import { tarballOf } from '../../support/tarball';

/**
 * A harness for the agent loop's tools step: stores each assistant turn as the LLM worker would
 * and runs the Tools step on it. `reply` is the user turn it stored, without the turns-left note
 * that ends it (`note`).
 */

const CONVERSATION = 'conv-1';
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let runCounter = 0;

export async function setUp(
  options: {
    turns?: Partial<StageTurns>;
    spec?: AgentSpec;
    budgetUsd?: number;
    monthlyBudgetUsd?: number;
    pricePerSecondUsd?: number;
    environment?: Partial<RunContract['environment']>;
    files?: Record<string, string>;
  } = {},
) {
  runCounter += 1;
  const runId = `01J0000000000000000000${String(runCounter).padStart(4, '0')}`;
  const store = new FakeStore();
  await store.createRun(
    RunSchema.parse({
      runId,
      kind: 'change',
      repo: 'acme/widgets',
      workItemKey: 'acme/widgets#1',
      status: 'IMPLEMENTING',
      stage: 'implement',
      version: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      trigger: { source: 'label', sender: 'alice' },
      issueNumber: 1,
      // Snapshots are cached by SHA across test files: a different tree needs a different SHA.
      baseSha: `sha-${runCounter}-${createHash('sha1')
        .update(JSON.stringify(options.files ?? {}))
        .digest('hex')}`,
    }),
  );
  const github = {
    getTarball: async () => tarballOf(options.files ?? { 'src/index.js': 'export {};\n' }),
  } as unknown as GitHub;
  const deps = {
    store,
    github,
    blobs: new MemoryBlobs(),
    log: silent,
    settings: { sandboxPricePerSecondUsd: options.pricePerSecondUsd ?? 0.001 },
    now: () => new Date().toISOString(),
    repoOf,
    contractOf: () =>
      ({
        turns: { ...defaultTurns(), ...options.turns },
        budgetUsd: options.budgetUsd ?? 5,
        ...(options.monthlyBudgetUsd ? { monthlyBudgetUsd: options.monthlyBudgetUsd } : {}),
        environment: {
          setup: [],
          checks: [],
          network: false,
          checkAttempts: 2,
          maxRunSeconds: 600,
          ...options.environment,
        },
      }) as unknown as RunContract,
  } as unknown as StagePorts;
  const spec = options.spec ?? implementSpec;
  let turn = 0;
  /** Stores the next assistant turn (and the user turn before it, if needed) and runs the tools step. */
  const answer = async (content: unknown[], stopReason: string) => {
    turn += 1;
    if (turn === 1) {
      await store.putTurn({
        conversationId: CONVERSATION,
        turn: 0,
        runId,
        stage: 'implement',
        role: 'user',
        content: [{ type: 'text', text: 'task' }],
        createdAt: deps.now(),
      });
    }
    await store.putTurn({
      conversationId: CONVERSATION,
      turn,
      runId,
      stage: 'implement',
      role: 'assistant',
      content,
      stopReason,
      model: 'claude-test',
      createdAt: deps.now(),
    });
    const run = store.runs.get(runId);
    if (!run) throw new Error('no run');
    const pointer = await runAgentTools(deps, run, spec, CONVERSATION, turn);
    if (pointer.outcome.startsWith('sandbox')) return { pointer, reply: [], note: undefined };
    const stored = (await store.getTurn(CONVERSATION, turn + 1))?.content as Array<Record<string, unknown>>;
    turn += 1;
    const last = stored.at(-1);
    const note =
      last?.type === 'text' && /^\[.*turns left/.test(String(last.text)) ? String(last.text) : undefined;
    return { pointer, reply: note === undefined ? stored : stored.slice(0, -1), note };
  };
  const file = async (path: string) => (await store.getWorkspaceFile(runId, path))?.content;
  /** Stores the sandbox's results for the pending turn and runs the Ran step on them. */
  const ran = async (outcomes: SandboxOutcome[][]) => {
    // Called again after the turn was answered: the Ran step retried on the same turn.
    const again = turn % 2 === 0;
    if (again) turn -= 1;
    for (const [i, commands] of outcomes.entries())
      for (const [j, outcome] of commands.entries())
        await deps.blobs.put(
          `sandbox/${runId}/${CONVERSATION}/${turn}/result-${i}-${j}.json`,
          new TextEncoder().encode(JSON.stringify(outcome)),
        );
    const run = store.runs.get(runId);
    if (!run) throw new Error('no run');
    const pointer = await finishSandboxTurn(deps, run, spec, CONVERSATION, turn);
    // The setup function's turn was answered by handing the commands over: no user turn yet.
    if (pointer.outcome.startsWith('sandbox')) return { pointer, reply: [] };
    const stored = (await store.getTurn(CONVERSATION, turn + 1))?.content as Array<Record<string, unknown>>;
    turn += 1;
    return { pointer, reply: stored };
  };
  /** Stores what the setup function reports for the pending turn. */
  const setupRan = async (outcome: { ok: boolean; setupMs: number }) =>
    deps.blobs.put(
      `sandbox/${runId}/${CONVERSATION}/${turn}/setup.json`,
      new TextEncoder().encode(JSON.stringify(outcome)),
    );
  return { store, runId, answer, ran, setupRan, file, deps };
}
