import * as z from 'zod';
import { FAILURE_LINES_CHARS, RUN_HEAD_CHARS, RUN_TAIL_CHARS } from './run-output';

/**
 * What the implement stage hands the sandbox function, and what comes back (decision 0005). The
 * job names its inputs and outputs by short-lived presigned URLs only: the sandbox holds no role
 * that could read another run's files, and its answer is advice to the model, never a gate.
 */
export const MAX_SANDBOX_COMMANDS = 10;

export const SandboxJob = z.strictObject({
  /** The run's snapshot: `key` names the unpacked tree in the function's /tmp cache. */
  snapshot: z.strictObject({ key: z.string().min(1).max(300), url: z.url() }),
  /** JSON of SandboxOverlay: the pending change laid over the snapshot. */
  overlayUrl: z.url(),
  network: z.boolean(),
  /**
   * `environment.setup`: run in order, with network, before the commands; what they create is laid
   * under every command's workspace and cached by `cache.key` (container /tmp, then the bucket).
   */
  setup: z
    .strictObject({
      commands: z
        .array(
          z.strictObject({
            command: z.string().min(1).max(10_000),
            timeoutSeconds: z.number().int().min(1).max(900),
          }),
        )
        .min(1)
        .max(MAX_SANDBOX_COMMANDS),
      cache: z.strictObject({ key: z.string().regex(/^[a-f0-9]{64}$/), getUrl: z.url(), putUrl: z.url() }),
      /** Set on a job for the setup function: where its SetupOutcome is PUT (decision 0005). */
      resultUrl: z.url().optional(),
    })
    .optional(),
  commands: z
    .array(
      z.strictObject({
        command: z.string().min(1).max(10_000),
        timeoutSeconds: z.number().int().min(1).max(900),
        /** Where the command's SandboxOutcome is PUT. */
        resultUrl: z.url(),
      }),
    )
    .min(1)
    .max(MAX_SANDBOX_COMMANDS),
});
export type SandboxJob = z.infer<typeof SandboxJob>;

export const SandboxOverlay = z.strictObject({
  files: z.array(z.strictObject({ path: z.string(), content: z.string() })),
  deleted: z.array(z.string()),
});
export type SandboxOverlay = z.infer<typeof SandboxOverlay>;

/** One command's result as stored; read back with safeParse, since the sandbox is untrusted. */
export const SandboxOutcome = z.strictObject({
  exitCode: z.number().int(),
  timedOut: z.boolean(),
  head: z.string().max(RUN_HEAD_CHARS * 2),
  tail: z.string().max(RUN_TAIL_CHARS * 2),
  omittedChars: z.number().int().nonnegative(),
  omittedFailures: z
    .string()
    .max(FAILURE_LINES_CHARS * 2)
    .optional(),
  durationMs: z.number().nonnegative(),
  warning: z.string().max(1000).optional(),
  /** Set when the command did not run at all: no isolated runner, and unisolated runs not allowed. */
  unavailable: z.string().max(1000).optional(),
  /** Time this job spent preparing `environment.setup` (cache reads included), on every result. */
  setupMs: z.number().nonnegative().optional(),
  /** The command did not run because `environment.setup` failed: the output is the setup's. */
  setupFailed: z.boolean().optional(),
});
export type SandboxOutcome = z.infer<typeof SandboxOutcome>;

/** A command that was not run (no sandbox, no budget, setup failed), as its result. */
export const refusedOutcome = (reason: string): SandboxOutcome => ({
  exitCode: 126,
  timedOut: false,
  head: reason,
  tail: '',
  omittedChars: 0,
  durationMs: 0,
  unavailable: reason,
});

/**
 * What the setup function reports (at `setup.resultUrl`): whether the output is in the bucket for
 * the command functions, and how long it took. On failure every command's result is the setup's.
 */
export const SetupOutcome = z.strictObject({ ok: z.boolean(), setupMs: z.number().nonnegative() });
export type SetupOutcome = z.infer<typeof SetupOutcome>;

/** No isolated runner here, and running unisolated was not allowed: the command is refused. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}
