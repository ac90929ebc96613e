import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mutateRun } from '../../../functions/shared/run-state';
import { MAX_TAKES } from '../../../functions/stages/activity-claim';
import { createStageHandler } from '../../../functions/stages/app';
import { sendTurn, TurnNotSent } from '../../../functions/stages/turn-send';
import { makeWorld, reviewedRun } from '../approvals/support';

function turnOf(runId: string, turn = 3) {
  return {
    runId,
    stage: 'implement',
    conversationId: `conv-${runId.slice(-6)}`,
    turn,
    modelAlias: 'coder',
    turnId: randomUUID(),
  };
}

async function world() {
  const w = makeWorld();
  const runs = [reviewedRun(), reviewedRun()];
  for (const run of runs) await w.store.createRun(run);
  return { ...w, runs };
}

describe('turn.send: take scheduled LLM turns from the activity onto the LLM queue', () => {
  it('sends its own turn as the SPEC §4 message, token from the activity, and marks it taken', async () => {
    const w = await world();
    const own = turnOf(w.runs[0]!.runId);
    w.turns.schedule(own, 'turn-token-own');

    await expect(sendTurn(w.stageDeps, own)).resolves.toEqual({ sent: 1 });

    const { turnId: _turnId, ...fields } = own;
    expect(w.llmQueue.sent).toEqual([{ taskToken: 'turn-token-own', ...fields }]);
    // A retried claim finds it taken and sends nothing again.
    await expect(sendTurn(w.stageDeps, own)).resolves.toEqual({ sent: 0 });
    expect(w.turns.takes).toBe(1);
    expect(w.llmQueue.sent).toHaveLength(1);
  });

  it("sends another run's turn that came first, then its own; a later claim of the other stops at once", async () => {
    const w = await world();
    const [mine, theirs] = [turnOf(w.runs[0]!.runId), turnOf(w.runs[1]!.runId, 7)];
    w.turns.schedule(theirs, 'turn-token-theirs');
    w.turns.schedule(mine, 'turn-token-mine');

    await expect(sendTurn(w.stageDeps, mine)).resolves.toEqual({ sent: 2 });
    expect(w.llmQueue.sent.map((m) => (m as { taskToken: string }).taskToken)).toEqual([
      'turn-token-theirs',
      'turn-token-mine',
    ]);

    await expect(sendTurn(w.stageDeps, theirs)).resolves.toEqual({ sent: 0 });
    expect(w.turns.takes).toBe(2);
  });

  it('fails a task that is not an LLM turn and goes on', async () => {
    const w = await world();
    const own = turnOf(w.runs[0]!.runId);
    w.turns.schedule({ stage: 'approval', runId: own.runId, waitId: randomUUID() }, 'not-a-turn');
    w.turns.schedule(own, 'turn-token-own');

    await expect(sendTurn(w.stageDeps, own)).resolves.toEqual({ sent: 2 });
    expect(w.workflow.failures.map((f) => [f.token, f.error])).toEqual([['not-a-turn', 'InvalidTurn']]);
    expect(w.llmQueue.sent).toHaveLength(1);
  });

  it('gives up with TurnNotSent when its turn never comes (bounded takes)', async () => {
    const w = await world();
    await expect(sendTurn(w.stageDeps, turnOf(w.runs[0]!.runId))).rejects.toBeInstanceOf(TurnNotSent);
    expect(w.turns.takes).toBe(MAX_TAKES);
    expect(w.llmQueue.sent).toEqual([]);
  });

  it("fails a turn it cannot queue, at once, and still sends its own: one SQS error fails one run's turn", async () => {
    const w = await world();
    const [mine, theirs] = [turnOf(w.runs[0]!.runId), turnOf(w.runs[1]!.runId, 7)];
    w.turns.schedule(theirs, 'turn-token-theirs');
    w.turns.schedule(mine, 'turn-token-mine');
    let sends = 0;
    const send = w.llmQueue.send.bind(w.llmQueue);
    w.llmQueue.send = async (body) => {
      sends += 1;
      if (sends === 1) throw Object.assign(new Error('throttled'), { name: 'RequestThrottled' });
      await send(body);
    };

    await expect(sendTurn(w.stageDeps, mine)).resolves.toEqual({ sent: 2 });

    expect(w.workflow.failures).toEqual([
      {
        token: 'turn-token-theirs',
        error: 'LlmQueueUnavailable',
        cause: expect.stringContaining('RequestThrottled'),
      },
    ]);
    expect(w.llmQueue.sent.map((m) => (m as { taskToken: string }).taskToken)).toEqual(['turn-token-mine']);
    // The failed turn was taken all the same: its own claim stops at once.
    await expect(sendTurn(w.stageDeps, theirs)).resolves.toEqual({ sent: 0 });
  });

  it('stops after an empty poll when its run has ended (its turn was withdrawn with the execution)', async () => {
    const w = await world();
    const own = turnOf(w.runs[0]!.runId);
    w.turns.onEmpty = async () => {
      await mutateRun(w.stageDeps, own.runId, () => ({ status: 'CANCELLED' }));
    };
    await expect(sendTurn(w.stageDeps, own)).resolves.toEqual({ sent: 0 });
    expect(w.turns.takes).toBe(1);
  });

  it('is dispatched as stage "turn.send" with the turn the loop expects', async () => {
    const w = await world();
    const own = turnOf(w.runs[0]!.runId);
    w.turns.schedule(own, 'turn-token-own');
    const handler = createStageHandler(w.stageDeps);
    await expect(
      handler({
        stage: 'turn.send',
        runId: own.runId,
        conversationId: own.conversationId,
        turn: own.turn,
        turnId: own.turnId,
      }),
    ).resolves.toEqual({ sent: 1 });
    await expect(handler({ stage: 'turn.send', runId: own.runId, turn: 1 })).rejects.toThrow(/missing/);
  });
});
