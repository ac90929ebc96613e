import path from 'node:path';
import {
  refusedOutcome,
  SandboxJob,
  type SandboxOutcome,
  SandboxOverlay,
  SandboxUnavailableError,
  type SetupOutcome,
} from '../shared/domain/sandbox-job';
import type { SandboxWorkspace } from '../shared/ports';
import { isDirectory, unpackTarball } from '../shared/tarball';
import { prepareSetup, type SetupPorts } from './setup';

/**
 * The sandbox functions (decision 0005): each fetches the run's snapshot and pending change
 * through the job's presigned URLs and PUTs what it has to say to the job's URLs. It has no other
 * access: no table, no bucket permission, no factory secret. One handler, two kinds of job:
 * - a command job (states `ImplementSandbox`, `ImplementSandboxOnline`): prepares
 *   `environment.setup` (setup.ts), runs each command on its own fresh copy, PUTs each result;
 * - a setup job, one with `setup.resultUrl` (state `ImplementSetup`): runs `environment.setup`
 *   with the registry tokens and stores its output for the command jobs; runs no command.
 * What a function may do is its wiring's: only the setup function has the tokens and runs setup.
 */
export interface SandboxPorts extends SetupPorts {
  /** Ends whatever a command left running once the job is done (see wiring.ts). */
  reap?: () => void;
}

const MAX_DOWNLOAD_BYTES = 512 * 1024 ** 2;

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`sandbox: fetching an input answered ${response.status}`);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_DOWNLOAD_BYTES) throw new Error('sandbox: an input is larger than 512 MB');
  return new Uint8Array(await response.arrayBuffer());
}

async function put(url: string, value: unknown): Promise<void> {
  const answer = await fetch(url, { method: 'PUT', body: JSON.stringify(value) });
  if (!answer.ok) throw new Error(`sandbox: storing a result answered ${answer.status}`);
}

async function baseTree(ports: SandboxPorts, snapshot: SandboxJob['snapshot']): Promise<string> {
  const target = path.join(ports.workRoot, snapshot.key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  if (await isDirectory(target)) return target;
  return unpackTarball(await download(snapshot.url), target);
}

/** The job's workspace: the unpacked snapshot and the pending change. */
async function workspaceOf(
  ports: SandboxPorts,
  job: SandboxJob,
): Promise<Required<Omit<SandboxWorkspace, 'layers'>>> {
  const baseDir = await baseTree(ports, job.snapshot);
  const overlay = SandboxOverlay.parse(
    JSON.parse(Buffer.from(await download(job.overlayUrl)).toString('utf8')),
  );
  return { baseDir, files: overlay.files, deleted: overlay.deleted };
}

/** The setup output to lay under the commands, or the answer every command gets when setup failed. */
async function setupOrRefusal(
  ports: SandboxPorts,
  setup: NonNullable<SandboxJob['setup']>,
  workspace: SandboxWorkspace,
): Promise<{ layer: string; stored: boolean } | { refusal: SandboxOutcome }> {
  try {
    const result = await prepareSetup(ports, setup, workspace);
    if (result.ok) {
      ports.log.info('sandbox setup ready', { source: result.source });
      return { layer: result.layer, stored: result.source !== 'ran' || result.stored };
    }
    const { command, outcome } = result;
    const reason = `environment.setup failed: \`${command.slice(0, 200)}\` exited ${outcome.exitCode}${outcome.timedOut ? ' (timed out)' : ''}`;
    return { refusal: { ...outcome, unavailable: reason, setupFailed: true } };
  } catch (error) {
    if (!(error instanceof SandboxUnavailableError)) throw error;
    return { refusal: refusedOutcome(error.message) };
  }
}

export function createSandboxHandler(ports: SandboxPorts) {
  const commandJob = runCommands(ports);
  const setupJob = runSetup(ports);
  return async (raw: unknown): Promise<{ commands: number } | { ok: boolean }> => {
    const job = SandboxJob.parse(raw);
    return job.setup?.resultUrl ? setupJob(job) : commandJob(job);
  };
}

function runCommands(ports: SandboxPorts) {
  return async (job: SandboxJob): Promise<{ commands: number }> => {
    const workspace = await workspaceOf(ports, job);
    try {
      const setupStarted = performance.now();
      const setup = job.setup ? await setupOrRefusal(ports, job.setup, workspace) : undefined;
      // Billed once per job by the stage runner (the results all carry it).
      const setupMs = setup ? Math.round(performance.now() - setupStarted) : undefined;
      await Promise.all(
        job.commands.map(async ({ command, timeoutSeconds, resultUrl }) => {
          let outcome: SandboxOutcome;
          try {
            if (setup && 'refusal' in setup) outcome = setup.refusal;
            else
              outcome = await ports.runner.run({
                workspace: { ...workspace, layers: setup ? [setup.layer] : [] },
                command,
                timeoutSeconds,
                network: job.network,
              });
          } catch (error) {
            if (!(error instanceof SandboxUnavailableError)) throw error;
            outcome = refusedOutcome(error.message);
          }
          if (setupMs !== undefined) outcome = { ...outcome, setupMs };
          await put(resultUrl, outcome);
        }),
      );
    } finally {
      ports.reap?.();
    }
    ports.log.info('sandbox job done', { commands: job.commands.length });
    return { commands: job.commands.length };
  };
}

/**
 * A setup job: prepares `environment.setup` and reports at `setup.resultUrl`. When the setup
 * fails, or its output cannot be stored for the command functions, every command's result is the
 * answer the model gets instead, as a command job would have given it.
 */
function runSetup(ports: SandboxPorts) {
  return async (job: SandboxJob): Promise<{ ok: boolean }> => {
    if (!job.setup?.resultUrl) throw new Error('sandbox: a setup job needs setup.resultUrl');
    const workspace = await workspaceOf(ports, job);
    const started = performance.now();
    let setup: Awaited<ReturnType<typeof setupOrRefusal>>;
    try {
      setup = await setupOrRefusal(ports, job.setup, workspace);
    } finally {
      ports.reap?.();
    }
    const setupMs = Math.round(performance.now() - started);
    if ('layer' in setup && !setup.stored)
      setup = {
        refusal: refusedOutcome('the output of environment.setup is over 512 MB (or could not be stored)'),
      };
    if ('refusal' in setup) {
      const { refusal } = setup;
      await Promise.all(job.commands.map(({ resultUrl }) => put(resultUrl, { ...refusal, setupMs })));
    }
    const outcome: SetupOutcome = { ok: 'layer' in setup, setupMs };
    await put(job.setup.resultUrl, outcome);
    ports.log.info('sandbox setup done', { ok: outcome.ok });
    return { ok: outcome.ok };
  };
}
