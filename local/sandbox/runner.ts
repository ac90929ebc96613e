import { lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectCreated, pathsBelow } from '../../functions/sandbox/collect';
import { copyWorkspace } from '../../functions/sandbox/copy';
import { execute } from '../../functions/sandbox/execute';
import { ProcessSandbox } from '../../functions/sandbox/process-runner';
import { SandboxUnavailableError } from '../../functions/shared/domain/sandbox-job';
import type { Sandbox, SandboxRequest, SandboxResult } from '../../functions/shared/ports';
import { bwrapArgs, probeBwrap, UNPRIVILEGED_ID } from './bwrap';
import { type CommandLimits, DEFAULT_COMMAND_LIMITS, limitedScript, limitNote } from './limits';

/**
 * The embedded stack's sandbox: each command runs as `bash -c command` on a fresh temporary copy
 * of the workspace under bubblewrap (see bwrap.ts for what the sandbox holds), with its output
 * bounded, its memory, processes, CPU time and file sizes limited (limits.ts), its whole process
 * tree killed at the time limit (exit 124), and the copy removed afterwards, so nothing the
 * command writes reaches the workspace.
 *
 * Without a working bubblewrap the runner refuses, unless the operator allowed unisolated runs
 * (`--unsafe-sandbox`): then the command runs on the copy with a scrubbed environment only, and
 * every result carries a warning saying so.
 */
export interface LocalSandboxOptions {
  /** The bubblewrap binary (default `bwrap` on PATH). */
  bwrap?: string;
  /** Run without isolation when bubblewrap is missing or unusable. */
  allowUnsafe?: boolean;
  /** Where workspace copies are made (default the OS temp dir). */
  tempRoot?: string;
  /** Each isolated command's resource limits (default DEFAULT_COMMAND_LIMITS). */
  limits?: Partial<CommandLimits>;
}

export { SandboxUnavailableError };

export const UNSAFE_WARNING =
  'ran WITHOUT isolation (bubblewrap unavailable, --unsafe-sandbox given): the command could read ' +
  'and reach everything this user can';

export class LocalSandbox implements Sandbox {
  constructor(private readonly options: LocalSandboxOptions = {}) {}

  /** Whether commands run isolated; the reason when they cannot. */
  isolation(): { isolated: true } | { isolated: false; reason: string } {
    const probe = probeBwrap(this.options.bwrap);
    return probe.available ? { isolated: true } : { isolated: false, reason: probe.reason };
  }

  async run(request: SandboxRequest): Promise<SandboxResult> {
    const isolation = this.isolation();
    if (!isolation.isolated && !this.options.allowUnsafe) {
      throw new SandboxUnavailableError(
        `Commands are refused: ${isolation.reason}, so they would run unisolated, with this ` +
          "machine's files, network and the factory's credentials within reach. Install bubblewrap " +
          '(apt-get install bubblewrap) or start with --unsafe-sandbox to run them anyway.',
      );
    }
    if (!isolation.isolated) {
      const result = await new ProcessSandbox(this.options).run(request);
      return { ...result, warning: UNSAFE_WARNING };
    }
    const root = mkdtempSync(join(this.options.tempRoot ?? tmpdir(), 'cf-sandbox-'));
    try {
      const workspace = join(root, 'workspace');
      copyWorkspace(request.workspace, workspace);
      const before = request.collectInto ? pathsBelow(workspace) : undefined;
      // bwrap itself starts with an empty environment, not just the command (--clearenv):
      // its own environment stays readable inside as /proc/1/environ.
      const limits = { ...DEFAULT_COMMAND_LIMITS, ...this.options.limits };
      const args = bwrapArgs({
        workspace,
        command: request.command,
        network: request.network,
        prelude: `${request.credentials ? LOAD_REGISTRY_ENV : ''}${limitedScript(limits, request.timeoutSeconds)}`,
        ...(request.credentials ? { homeFiles: credentialFiles(root, request.credentials) } : {}),
      });
      // The kernel does not count root's processes against a process limit: run as nobody.
      const user = asUnprivileged(root);
      const result = await execute(
        this.options.bwrap ?? 'bwrap',
        args,
        { cwd: '/', env: {}, ...user },
        request.timeoutSeconds,
      );
      if (before && request.collectInto) collectCreated(workspace, before, request.collectInto);
      const note = limitNote(result, limits, request.timeoutSeconds);
      if (!note) return result;
      const output = result.head + result.tail;
      return {
        ...result,
        tail: `${result.tail}${output === '' || output.endsWith('\n') ? '' : '\n'}${note}`,
      };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

/**
 * A setup command's registry tokens reach it as HOME files: `.npmrc`, `.netrc`, and the variables
 * in `.registry-env`, which the prelude exports. Never on bubblewrap's command line, which other
 * processes of this machine can read in /proc.
 */
const REGISTRY_ENV = '.registry-env';
const LOAD_REGISTRY_ENV = `set -a && . "$HOME/${REGISTRY_ENV}" && set +a || exit 125; `;

function credentialFiles(
  root: string,
  credentials: NonNullable<SandboxRequest['credentials']>,
): Array<{ source: string; name: string }> {
  const dir = join(root, 'home-files');
  mkdirSync(dir, { mode: 0o700 });
  const quoted = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  const variables = Object.entries(credentials.env).map(([name, value]) => `${name}=${quoted(value)}\n`);
  const files = { ...credentials.homeFiles, [REGISTRY_ENV]: variables.join('') };
  return Object.entries(files).map(([name, content]) => {
    const source = join(dir, name);
    writeFileSync(source, content, { mode: 0o600 });
    return { source, name };
  });
}

/**
 * When this process is root, hands the job's temp tree to `nobody` and answers the ids to spawn
 * bubblewrap with: root is exempt from RLIMIT_NPROC, so a fork bomb would meet no process limit.
 */
function asUnprivileged(root: string): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const chown = (path: string) => {
    lchownSync(path, UNPRIVILEGED_ID, UNPRIVILEGED_ID);
    if (!lstatSync(path).isDirectory()) return;
    for (const name of readdirSync(path)) chown(join(path, name));
  };
  chown(root);
  return { uid: UNPRIVILEGED_ID, gid: UNPRIVILEGED_ID };
}
