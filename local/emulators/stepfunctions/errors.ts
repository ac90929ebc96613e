/**
 * A task failure as the state machine sees it: `name` is the ASL error (matched by Retry/Catch),
 * `message` is the Cause. No `cause` property: aws-local-stepfunctions would report it instead.
 */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/**
 * An error the state machine must not retry or catch (misconfiguration, engine shutdown):
 * aws-local-stepfunctions reads these two duck-typed flags.
 */
export class UncatchableTaskError extends TaskError {
  readonly isRetryable = false;
  readonly isCatchable = false;
}
