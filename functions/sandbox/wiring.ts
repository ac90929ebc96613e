import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSecrets } from '../shared/adapters/secrets';
import { sandboxEnv } from '../shared/config';
import { type SandboxRegistry, setupCredentialsOf } from '../shared/domain/registries';
import { log } from '../shared/middleware';
import type { SandboxPorts } from './app';
import { ProcessSandbox } from './process-runner';

/**
 * Kills every process of this sandbox except the runtime and its ancestors: a command that
 * detached from its process group must not live on into the next job this container serves.
 */
export function reapStrays(): void {
  const keep = new Set<number>([1, process.pid]);
  for (let pid = process.ppid; pid > 1 && !keep.has(pid); ) {
    keep.add(pid);
    pid = parentOf(pid) ?? 1;
  }
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || keep.has(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already, or not ours.
    }
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * The AWS sandbox functions: plain child processes. The command functions' roles grant nothing;
 * the setup function's may read the registry secrets only, and only it gets their names.
 */
export function sandboxPorts(): SandboxPorts {
  const config = sandboxEnv();
  return {
    runner: new ProcessSandbox(),
    workRoot: path.join(tmpdir(), 'sandbox-snapshots'),
    log,
    reap: reapStrays,
    setupMode: config.SANDBOX_SETUP_MODE,
    ...(config.SANDBOX_REGISTRIES.length > 0
      ? { credentials: registryTokens(config.SANDBOX_REGISTRIES) }
      : {}),
  };
}

function registryTokens(registries: SandboxRegistry[]) {
  // The timeouts of shared/runtime.ts, without its other clients in this bundle.
  const client = new SecretsManagerClient({
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 15_000 },
  });
  const secrets = new SecretsManagerSecrets(client);
  return async () =>
    setupCredentialsOf(
      registries,
      await Promise.all(registries.map(({ secretId }) => secrets.get(secretId))),
    );
}
