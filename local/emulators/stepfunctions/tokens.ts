import { randomBytes } from 'node:crypto';
import { AwsServiceError } from '../loopback';

/** What a waiting callback task does when its token is answered. */
export interface CallbackWaiter {
  succeed(output: unknown): void;
  fail(error: string, cause: string): void;
  heartbeat(): void;
}

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** How many finished tokens are remembered to answer TaskTimedOut rather than InvalidToken. */
const REMEMBERED_FINISHED = 10_000;

/**
 * Task tokens for `.waitForTaskToken` tasks: 32 CSPRNG bytes (base64url), unguessable and single
 * use. A token that finished (answered, timed out, execution stopped) answers `TaskTimedOut` as on
 * AWS; one this engine never issued (or long forgot) answers `InvalidToken`.
 */
export class TaskTokens {
  private readonly pending = new Map<string, CallbackWaiter>();
  private readonly finished = new Set<string>();

  issue(waiter: CallbackWaiter): string {
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    this.pending.set(token, waiter);
    return token;
  }

  /** Takes the waiter for a success/failure answer: the token is spent after this call. */
  take(token: string): CallbackWaiter {
    const waiter = this.peek(token);
    this.finish(token);
    return waiter;
  }

  /** The task ended without an answer (timeout, heartbeat timeout, stop): later answers are refused. */
  finish(token: string): void {
    if (!this.pending.delete(token)) return;
    this.finished.add(token);
    if (this.finished.size > REMEMBERED_FINISHED) {
      const oldest = this.finished.values().next().value;
      if (oldest !== undefined) this.finished.delete(oldest);
    }
  }

  /** The waiter for a heartbeat: the token stays valid. */
  peek(token: string): CallbackWaiter {
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
      throw new AwsServiceError('InvalidToken', 'Invalid Token');
    }
    const waiter = this.pending.get(token);
    if (waiter) return waiter;
    if (this.finished.has(token)) {
      throw new AwsServiceError('TaskTimedOut', 'Task Timed Out: Provided task does not exist anymore');
    }
    throw new AwsServiceError('InvalidToken', 'Invalid Token: no task was issued this token');
  }
}
