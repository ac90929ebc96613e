import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { packDirectory, unpackTarball, isDirectory } from '../shared/tarball';
import { type SandboxJob, type SandboxOutcome, SandboxUnavailableError } from '../shared/domain/sandbox-job';
import type { Log, Sandbox, SandboxWorkspace } from '../shared/ports';
import { redactSecrets, type SetupCredentials } from '../shared/domain/registries';
import { scrubSecrets } from './scrub';

/** Larger setup outputs are used but not uploaded (and a larger download is refused). */
export const MAX_SETUP_ARCHIVE_BYTES = 512 * 1024 ** 2;

export type SetupResult =
  | { ok: true; layer: string; source: 'container' | 'bucket' }
  /** `stored`: the output reached the bucket, where the other sandbox functions take it from. */
  | { ok: true; layer: string; source: 'ran'; stored: boolean }
  | { ok: false; command: string; outcome: SandboxOutcome };

export interface SetupPorts {
  runner: Sandbox;
  workRoot: string;
  log: Pick<Log, 'info' | 'warn'>;
  /**
   * The deployment's private registry tokens (`sandbox.registries`), read only when setup commands
   * are about to run; absent where this function may not run setup (decision 0005).
   */
  credentials?: () => Promise<SetupCredentials>;
  /** Ends whatever a setup command left running, before anything else runs (see wiring.ts). */
  reap?: () => void;
  /**
   * `run`: a cache miss runs the setup commands (the setup function; the embedded stack). `cached`:
   * only this container's or the bucket's copy is used (the command functions on AWS, which have
   * no registry to install from).
   */
  setupMode?: 'run' | 'cached';
}

/**
 * The job's `environment.setup` output as a directory to lay under its commands: this container's
 * copy, else the bucket's (by the job's cache key), else made now by running the setup commands in
 * order with network, each on the workspace plus what the earlier ones made, and then uploaded.
 * The first failing command ends setup; its outcome is the answer.
 */
export async function prepareSetup(
  ports: SetupPorts,
  setup: NonNullable<SandboxJob['setup']>,
  workspace: SandboxWorkspace,
): Promise<SetupResult> {
  const layer = path.join(ports.workRoot, `setup-${setup.cache.key}`);
  if (await isDirectory(layer)) return { ok: true, layer, source: 'container' };

  const cached = await fetch(setup.cache.getUrl).catch(() => undefined);
  if (cached?.ok && Number(cached.headers.get('content-length') ?? 0) <= MAX_SETUP_ARCHIVE_BYTES) {
    const archive = new Uint8Array(await cached.arrayBuffer());
    await unpackTarball(archive, layer, { strip: 0 });
    return { ok: true, layer, source: 'bucket' };
  }
  await cached?.body?.cancel();
  if (ports.setupMode === 'cached')
    throw new SandboxUnavailableError(
      'the output of environment.setup is not available (its setup failed, or its output was too large to hand over)',
    );

  const credentials = ports.credentials ? await ports.credentials() : undefined;
  const secrets = credentials?.secrets ?? [];
  const partial = `${layer}.partial-${randomBytes(6).toString('hex')}`;
  mkdirSync(partial, { recursive: true });
  try {
    for (const { command, timeoutSeconds } of setup.commands) {
      let outcome: SandboxOutcome;
      try {
        outcome = await ports.runner.run({
          workspace: { ...workspace, layers: [partial] },
          command,
          timeoutSeconds,
          network: true,
          collectInto: partial,
          ...(credentials ? { credentials: { env: credentials.env, homeFiles: credentials.homeFiles } } : {}),
        });
      } finally {
        ports.reap?.();
      }
      // The failing command's output is the model's answer: no token in it.
      if (outcome.exitCode !== 0)
        return {
          ok: false,
          command,
          outcome: {
            ...outcome,
            head: redactSecrets(outcome.head, secrets),
            tail: redactSecrets(outcome.tail, secrets),
            ...(outcome.omittedFailures === undefined
              ? {}
              : { omittedFailures: redactSecrets(outcome.omittedFailures, secrets) }),
          },
        };
    }
    const removed = scrubSecrets(partial, secrets);
    if (removed.length > 0)
      ports.log.warn('setup output held secrets: not kept', { paths: removed.slice(0, 20) });
    await rename(partial, layer).catch(async (error: unknown) => {
      if (!(await isDirectory(layer))) throw error;
    });
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  const stored = await upload(ports, layer, setup.cache.putUrl);
  return { ok: true, layer, source: 'ran', stored };
}

async function upload(ports: SetupPorts, layer: string, url: string): Promise<boolean> {
  const archive = await packDirectory(layer);
  if (archive.byteLength > MAX_SETUP_ARCHIVE_BYTES) {
    ports.log.warn('setup output too large to cache', { bytes: archive.byteLength });
    return false;
  }
  const put = await fetch(url, { method: 'PUT', body: archive }).catch((error: unknown) => error);
  if (put instanceof Response && put.ok) return true;
  ports.log.warn('setup output not cached', { status: put instanceof Response ? put.status : String(put) });
  return false;
}
