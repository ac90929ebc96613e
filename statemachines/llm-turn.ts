type State = Record<string, unknown>;

/**
 * One model turn (SPEC §4): the LLM queue message carries the task token, and the LLM worker
 * answers it after storing the assistant turn. The answer is only a signal: the step after reads
 * the stored turn, so a forged SendTaskSuccess cannot put words in the model's mouth. No Retry:
 * the worker already retries what can be retried, so what reaches `Catch` is final.
 */
export function llmTurnTask(turn: {
  stage: string;
  modelAlias: string;
  /** JSONPaths of the run (or ask) id and of the conversation pointer. */
  runIdPath: string;
  pointer: Record<string, string>;
  timeout: { TimeoutSeconds: number } | { TimeoutSecondsPath: string };
  catch: unknown[];
  next: string;
}): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    Parameters: {
      QueueUrl: '${LlmQueueUrl}',
      MessageBody: {
        'taskToken.$': '$$.Task.Token',
        'runId.$': turn.runIdPath,
        stage: turn.stage,
        ...turn.pointer,
        modelAlias: turn.modelAlias,
      },
    },
    ResultPath: null,
    ...turn.timeout,
    Catch: turn.catch,
    Next: turn.next,
  };
}
