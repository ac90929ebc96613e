import * as z from 'zod';
import { formatRunResult, runLimitSeconds } from '../shared/domain/run-output';
import {
  type SandboxJob,
  SandboxOutcome,
  type SandboxOverlay,
  SetupOutcome,
} from '../shared/domain/sandbox-job';
import type { Run } from '../shared/domain/run';
import type { StagePorts } from './deps';
import { setupCacheKey, setupCacheObject } from './setup-cache';
import { ensureSnapshot } from './snapshot';
import { workspaceOf } from './workspace';
import { type SandboxEnvironment, sandboxEnvironmentOf } from './sandbox-environment';

/**
 * Tool calls that need the sandbox (`run`, and `environment.checks` before `submit_change`) are
 * not run by the stage runner: the Tools step stores the turn's other results as a pending turn,
 * answers `sandbox` with a job of presigned URLs, the state machine runs the job on the sandbox
 * function (`ImplementSandbox`), and the `Ran` step reads the results and completes the turn.
 * No function of ours waits on a command (decision 0005).
 */

/** Presigned URLs outlive the longest job: commands run at most 900 s, plus fetching and unpacking. */
const PRESIGN_SECONDS = 3600;
export const MAX_RUN_CALLS_PER_TURN = 10;

const DeferredCall = z.object({
  /** Where the call's tool_result goes in the turn's results. */
  index: z.number().int().nonnegative(),
  toolUseId: z.string(),
  kind: z.enum(['run', 'checks']),
  commands: z.array(z.object({ command: z.string(), timeoutSeconds: z.number().int().positive() })),
  /** checks: the submission they guard, submitted again once they pass. */
  submitInput: z.record(z.string(), z.unknown()).optional(),
  /** checks detected from the repository, not declared: advice only (decision 0005). */
  advisory: z.boolean().optional(),
});
export type DeferredCall = z.infer<typeof DeferredCall>;

export const PendingTurn = z.object({
  /** The turn's tool results in call order; deferred calls' slots are null until the sandbox answers. */
  results: z.array(z.unknown()),
  calls: z.array(DeferredCall).min(1),
  outcome: z.string(),
  /** The setup commands' time limits, reserved with the job's and billed when it ran. */
  setupSeconds: z.number().int().nonnegative().optional(),
  /** Handed to the setup function first (its output was not cached); the commands follow. */
  awaitingSetup: z.boolean().optional(),
  /** What the setup function reported it took, billed with the commands. */
  setupMs: z.number().nonnegative().optional(),
});
export type PendingTurn = z.infer<typeof PendingTurn>;

const prefixOf = (runId: string, conversationId: string, turn: number) =>
  `sandbox/${runId}/${conversationId}/${turn}`;
const resultKey = (prefix: string, call: number, command: number) =>
  `${prefix}/result-${call}-${command}.json`;
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A `run` call's input as a command, or the error the model gets for a bad one. */
export function runCommandOf(
  input: Record<string, unknown>,
  maxSeconds: number,
): { command: string; timeoutSeconds: number } | { error: string } {
  const { command, timeout_seconds: seconds } = input;
  if (typeof command !== 'string' || command.trim() === '')
    return { error: 'Error: run needs `command`, a non-empty shell command string' };
  if (command.length > 10_000) return { error: 'Error: the command is longer than 10,000 characters' };
  if (seconds !== undefined && typeof seconds !== 'number')
    return { error: 'Error: timeout_seconds must be a number of seconds' };
  return { command, timeoutSeconds: runLimitSeconds(seconds, maxSeconds) };
}

export async function pendingTurnOf(
  deps: Pick<StagePorts, 'blobs'>,
  runId: string,
  conversationId: string,
  turn: number,
): Promise<PendingTurn | undefined> {
  const stored = await deps.blobs.get(`${prefixOf(runId, conversationId, turn)}/pending.json`);
  return stored ? PendingTurn.parse(JSON.parse(new TextDecoder().decode(stored))) : undefined;
}

/**
 * Which sandbox function the state machine hands a job to (decision 0005): `sandbox-setup` the
 * setup function (registry tokens, network; runs `environment.setup` and caches its output),
 * `sandbox-online` the command function with network (`environment.network: true`), `sandbox`
 * the one without (on AWS in isolated subnets).
 */
export type SandboxRoute = 'sandbox' | 'sandbox-online' | 'sandbox-setup';

export const storePendingTurn = (
  deps: Pick<StagePorts, 'blobs'>,
  runId: string,
  conversationId: string,
  turn: number,
  pending: PendingTurn,
) =>
  deps.blobs.put(
    `${prefixOf(runId, conversationId, turn)}/pending.json`,
    json(PendingTurn.parse(pending)),
    'application/json',
  );

/**
 * Stores the pending turn and the workspace's pending change; returns the job for the sandbox and
 * where it goes: first to the setup function when the setup output is not cached yet.
 */
export async function deferToSandbox(
  deps: StagePorts,
  run: Run,
  conversationId: string,
  turn: number,
  pending: PendingTurn,
): Promise<{ outcome: SandboxRoute; sandbox: SandboxJob }> {
  await storePendingTurn(deps, run.runId, conversationId, turn, pending);
  const job = await sandboxJob(deps, run, conversationId, turn, pending);
  if (!job.setup || (await deps.blobs.exists(setupCacheObject(run.repo, job.setup.cache.key))))
    return handOver(deps, run, conversationId, turn, pending, job);
  const awaiting = { ...pending, awaitingSetup: true };
  await storePendingTurn(deps, run.runId, conversationId, turn, awaiting);
  return handOver(deps, run, conversationId, turn, awaiting, job);
}

/** The pending turn's job (built here unless given; a retried step signs its URLs afresh) and route. */
export async function handOver(
  deps: StagePorts,
  run: Run,
  conversationId: string,
  turn: number,
  pending: PendingTurn,
  job?: SandboxJob,
): Promise<{ outcome: SandboxRoute; sandbox: SandboxJob }> {
  job ??= await sandboxJob(deps, run, conversationId, turn, pending);
  if (pending.awaitingSetup && job.setup) {
    const resultUrl = await deps.blobs.presign(
      setupResultKey(run.runId, conversationId, turn),
      'PUT',
      PRESIGN_SECONDS,
    );
    return { outcome: 'sandbox-setup', sandbox: { ...job, setup: { ...job.setup, resultUrl } } };
  }
  return { outcome: job.network ? 'sandbox-online' : 'sandbox', sandbox: job };
}

/** What a sandbox function wrote under `key`: undefined when nothing (or nonsense) is there. */
async function reported<T>(
  deps: Pick<StagePorts, 'blobs'>,
  key: string,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  const stored = await deps.blobs.get(key);
  if (!stored) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(new TextDecoder().decode(stored)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const setupResultKey = (runId: string, conversationId: string, turn: number) =>
  `${prefixOf(runId, conversationId, turn)}/setup.json`;

/** What the setup function reported for a turn, undefined when nothing (or nonsense) was stored. */
export async function setupOutcomeOf(
  deps: Pick<StagePorts, 'blobs'>,
  runId: string,
  conversationId: string,
  turn: number,
): Promise<SetupOutcome | undefined> {
  return reported(deps, setupResultKey(runId, conversationId, turn), SetupOutcome);
}

/** The job for a pending turn. */
async function sandboxJob(
  deps: StagePorts,
  run: Run,
  conversationId: string,
  turn: number,
  pending: PendingTurn,
): Promise<SandboxJob> {
  if (!run.baseSha) throw new Error(`run ${run.runId} has no base SHA (admit did not run)`);
  const prefix = prefixOf(run.runId, conversationId, turn);
  const files = await deps.store.listWorkspaceFiles(run.runId);
  const overlay: SandboxOverlay = {
    files: files
      .filter((file) => !file.deleted)
      .map((file) => ({ path: file.path, content: file.content ?? '' })),
    deleted: files.filter((file) => file.deleted).map((file) => file.path),
  };
  await deps.blobs.put(`${prefix}/overlay.json`, json(overlay), 'application/json');
  const snapshotKey = await ensureSnapshot(deps, { runId: run.runId, repo: deps.repoOf(run) }, run.baseSha);
  const presign = (key: string, method: 'GET' | 'PUT') => deps.blobs.presign(key, method, PRESIGN_SECONDS);
  const commands = await Promise.all(
    pending.calls.flatMap((call, i) =>
      call.commands.map(async (command, j) => ({
        ...command,
        resultUrl: await presign(resultKey(prefix, i, j), 'PUT'),
      })),
    ),
  );
  const environment = await sandboxEnvironmentOf(deps, run);
  return {
    snapshot: { key: snapshotKey, url: await presign(snapshotKey, 'GET') },
    overlayUrl: await presign(`${prefix}/overlay.json`, 'GET'),
    network: environment.network,
    ...(environment.setup.length > 0 ? { setup: await setupOf(deps, run, environment, files, presign) } : {}),
    commands,
  };
}

/** The job's setup: the commands, and presigned URLs for the output cached under its key. */
async function setupOf(
  deps: StagePorts,
  run: Run,
  environment: SandboxEnvironment,
  pending: ReadonlyArray<{ path: string; content?: string; deleted?: boolean }>,
  presign: (key: string, method: 'GET' | 'PUT') => Promise<string>,
): Promise<NonNullable<SandboxJob['setup']>> {
  // The pending change is the one already read for the overlay; only the base is read here.
  const { base } = await workspaceOf(deps, run);
  const key = await setupCacheKey({
    repo: run.repo,
    setup: environment.setup,
    ...(environment.image === undefined ? {} : { image: environment.image }),
    read: async (path) => {
      const change = pending.find((file) => file.path === path);
      if (change) return change.deleted ? undefined : (change.content ?? '');
      const body = await base.read(path);
      return body?.kind === 'text' ? body.text : body ? `${body.kind}:${body.size}` : undefined;
    },
  });
  const object = setupCacheObject(run.repo, key);
  return {
    commands: environment.setup.map((command) => ({ command, timeoutSeconds: environment.maxRunSeconds })),
    cache: { key, getUrl: await presign(object, 'GET'), putUrl: await presign(object, 'PUT') },
  };
}

/** Each deferred call's command results, undefined where the sandbox stored none (or nonsense). */
export async function sandboxOutcomes(
  deps: Pick<StagePorts, 'blobs'>,
  runId: string,
  conversationId: string,
  turn: number,
  pending: PendingTurn,
): Promise<Array<Array<SandboxOutcome | undefined>>> {
  const prefix = prefixOf(runId, conversationId, turn);
  return Promise.all(
    pending.calls.map((call, i) =>
      Promise.all(
        call.commands.map((_command, j) => reported(deps, resultKey(prefix, i, j), SandboxOutcome)),
      ),
    ),
  );
}

export const NO_ANSWER =
  'Error: the sandbox gave no result for this command (it failed or ran out of time); try again or ' +
  'go on without it';

/** A command's result as the model reads it. */
export const answerOf = (outcome: SandboxOutcome | undefined, timeoutSeconds: number): string =>
  outcome === undefined
    ? NO_ANSWER
    : outcome.unavailable
      ? `Error: the command was not run: ${outcome.unavailable}` +
        (outcome.setupFailed ? `\n${formatRunResult(outcome, timeoutSeconds)}` : '')
      : `${formatRunResult(outcome, timeoutSeconds)}${outcome.warning ? `\n[warning: ${outcome.warning}]` : ''}`;
