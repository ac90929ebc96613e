import type { LlmRateLimit } from './ports';

/**
 * Typed errors. `name` is the error class the state machine Catches on and the run records;
 * `expose` marks messages safe to show an API caller (middy's http-errors convention).
 */
export class FactoryError extends Error {
  readonly expose: boolean;
  constructor(name: string, message: string, options?: { cause?: unknown; expose?: boolean }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = name;
    this.expose = options?.expose ?? false;
  }
}

/** A run status change the transition table does not allow. Never written. */
export class IllegalTransitionError extends FactoryError {
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super('IllegalTransition', `illegal run transition ${from} -> ${to}`);
  }
}

/** Optimistic-lock loss: someone else updated the run first. Re-read and retry. */
export class VersionConflictError extends FactoryError {
  constructor(
    readonly runId: string,
    readonly expectedVersion: number,
  ) {
    super('VersionConflict', `run ${runId} is no longer at version ${expectedVersion}`);
  }
}

export class AlreadyExistsError extends FactoryError {
  constructor(what: string) {
    super('AlreadyExists', `${what} already exists`);
  }
}

export class NotFoundError extends FactoryError {
  constructor(what: string) {
    super('NotFound', `${what} not found`, { expose: true });
  }
}

/** Bad input from a user (config, request). `issues` carry `path.to.field: message` lines. */
export class ValidationError extends FactoryError {
  constructor(
    message: string,
    readonly issues: string[] = [],
  ) {
    super('ValidationError', message, { expose: true });
  }
}

/** Classification of a failed model call, decided by the Anthropic adapter. */
export type LlmErrorKind =
  | 'rate_limited' // 429: retry after `retryAfterSeconds`
  | 'spend_limit' // 429 for an exhausted spend limit: never retried
  | 'overloaded' // 529: retry, then fall back along the alias's list
  | 'server' // 5xx: retry
  | 'network' // connection reset / timeout: retry
  | 'prompt_too_long' // 400 "prompt is too long": clear old context and call again (llm-worker/context-trim.ts)
  | 'permanent'; // 4xx other than the above: fail the task

export class LlmError extends FactoryError {
  /** The requests window a 429 reported, when the API sent its rate-limit headers. */
  readonly rateLimit?: LlmRateLimit;

  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown; rateLimit?: LlmRateLimit },
  ) {
    const permanent = kind === 'permanent' || kind === 'spend_limit' || kind === 'prompt_too_long';
    super(permanent ? 'LlmPermanentError' : 'LlmTransientError', message, options);
    this.rateLimit = options?.rateLimit;
  }
}
