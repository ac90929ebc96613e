/**
 * Errors the local Step Functions endpoint answers with. `code` is the AWS error shape name, so
 * the real SDK raises its class of the same name (ExecutionDoesNotExist, TaskTimedOut, ...).
 */
export class SfnServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

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
