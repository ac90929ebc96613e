import { createContext, runInContext } from 'node:vm';

/**
 * Runs synchronous work (regular expression matching) with a time limit. Node's vm timeout arms a
 * watchdog thread that terminates the running JavaScript, including a regular expression stuck
 * in catastrophic backtracking such as /(a+)+$/ against "aaaa…a!", and then throws here. The work
 * itself runs in this context (the vm script only calls it), so it costs no copying; a call costs
 * about a quarter of a millisecond for the watchdog, so callers batch their work.
 */

export class DeadlineExceeded extends Error {
  constructor(readonly ms: number) {
    super(`the work did not finish within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

const context = createContext({ work: undefined as unknown });

export function withDeadline<T>(ms: number, work: () => T): T {
  const timeout = Math.max(1, Math.ceil(ms));
  context.work = work;
  try {
    return runInContext('work()', context, { timeout }) as T;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT')
      throw new DeadlineExceeded(timeout);
    throw error;
  } finally {
    context.work = undefined;
  }
}
