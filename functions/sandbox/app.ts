import path from 'node:path';
import {
  SandboxJob,
  type SandboxOutcome,
  SandboxOverlay,
  SandboxUnavailableError,
} from '../shared/domain/sandbox-job';
import type { Log, Sandbox, SandboxWorkspace } from '../shared/ports';
import { isDirectory, unpackTarball } from '../shared/tarball';
import { prepareSetup } from './setup';

/**
 * The sandbox function (state `ImplementSandbox`): fetches the run's snapshot and pending change
 * through the job's presigned URLs, prepares `environment.setup` (setup.ts), runs each command on
 * its own fresh copy, and PUTs each result to its URL. It has no other access: no table, no
 * secret, no bucket permission (decision 0005).
 */
export interface SandboxPorts {
  runner: Sandbox;
  /** Where snapshots are unpacked, once per container. */
  workRoot: string;
  log: Pick<Log, 'info' | 'warn'>;
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

async function baseTree(ports: SandboxPorts, snapshot: SandboxJob['snapshot']): Promise<string> {
  const target = path.join(ports.workRoot, snapshot.key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  if (await isDirectory(target)) return target;
  return unpackTarball(await download(snapshot.url), target);
}

const refused = (reason: string): SandboxOutcome => ({
  exitCode: 126,
  timedOut: false,
  head: reason,
  tail: '',
  omittedChars: 0,
  durationMs: 0,
  unavailable: reason,
});

/** The setup output to lay under the commands, or the answer every command gets when setup failed. */
async function setupOrRefusal(
  ports: SandboxPorts,
  setup: NonNullable<SandboxJob['setup']>,
  workspace: SandboxWorkspace,
): Promise<{ layer: string } | { refusal: SandboxOutcome }> {
  try {
    const result = await prepareSetup(ports, setup, workspace);
    if (result.ok) {
      ports.log.info('sandbox setup ready', { source: result.source });
      return { layer: result.layer };
    }
    const { command, outcome } = result;
    const reason = `environment.setup failed: \`${command.slice(0, 200)}\` exited ${outcome.exitCode}${outcome.timedOut ? ' (timed out)' : ''}`;
    return { refusal: { ...outcome, unavailable: reason, setupFailed: true } };
  } catch (error) {
    if (!(error instanceof SandboxUnavailableError)) throw error;
    return { refusal: refused(error.message) };
  }
}

export function createSandboxHandler(ports: SandboxPorts) {
  return async (raw: unknown): Promise<{ commands: number }> => {
    const job = SandboxJob.parse(raw);
    const baseDir = await baseTree(ports, job.snapshot);
    const overlay = SandboxOverlay.parse(
      JSON.parse(Buffer.from(await download(job.overlayUrl)).toString('utf8')),
    );
    const workspace = { baseDir, files: overlay.files, deleted: overlay.deleted };
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
            outcome = refused(error.message);
          }
          if (setupMs !== undefined) outcome = { ...outcome, setupMs };
          const put = await fetch(resultUrl, { method: 'PUT', body: JSON.stringify(outcome) });
          if (!put.ok) throw new Error(`sandbox: storing a result answered ${put.status}`);
        }),
      );
    } finally {
      ports.reap?.();
    }
    ports.log.info('sandbox job done', { commands: job.commands.length });
    return { commands: job.commands.length };
  };
}
