import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { packDirectory, unpackTarball, isDirectory } from '../shared/tarball';
import type { SandboxJob, SandboxOutcome } from '../shared/domain/sandbox-job';
import type { Log, Sandbox, SandboxWorkspace } from '../shared/ports';

/** Larger setup outputs are used but not uploaded (and a larger download is refused). */
export const MAX_SETUP_ARCHIVE_BYTES = 512 * 1024 ** 2;

export type SetupResult =
  | { ok: true; layer: string; source: 'container' | 'bucket' | 'ran' }
  | { ok: false; command: string; outcome: SandboxOutcome };

export interface SetupPorts {
  runner: Sandbox;
  workRoot: string;
  log: Pick<Log, 'info' | 'warn'>;
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

  const partial = `${layer}.partial-${randomBytes(6).toString('hex')}`;
  mkdirSync(partial, { recursive: true });
  try {
    for (const { command, timeoutSeconds } of setup.commands) {
      const outcome = await ports.runner.run({
        workspace: { ...workspace, layers: [partial] },
        command,
        timeoutSeconds,
        network: true,
        collectInto: partial,
      });
      if (outcome.exitCode !== 0) return { ok: false, command, outcome };
    }
    await rename(partial, layer).catch(async (error: unknown) => {
      if (!(await isDirectory(layer))) throw error;
    });
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  await upload(ports, layer, setup.cache.putUrl);
  return { ok: true, layer, source: 'ran' };
}

async function upload(ports: SetupPorts, layer: string, url: string): Promise<void> {
  const archive = await packDirectory(layer);
  if (archive.byteLength > MAX_SETUP_ARCHIVE_BYTES) {
    ports.log.warn('setup output too large to cache', { bytes: archive.byteLength });
    return;
  }
  const put = await fetch(url, { method: 'PUT', body: archive }).catch((error: unknown) => error);
  if (!(put instanceof Response) || !put.ok)
    ports.log.warn('setup output not cached', { status: put instanceof Response ? put.status : String(put) });
}
