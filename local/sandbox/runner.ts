import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox, SandboxRequest, SandboxResult } from '../../functions/shared/ports';
import { RUN_HEAD_CHARS, RUN_TAIL_CHARS } from '../../functions/stages/run-output';
import { bwrapArgs, probeBwrap, sandboxPath } from './bwrap';
import { OutputCapture } from './capture';
import { copyWorkspace } from './copy';

/**
 * The embedded stack's sandbox: each command runs as `bash -c command` on a fresh temporary copy
 * of the workspace under bubblewrap (see bwrap.ts for what the sandbox holds), with its output
 * bounded, its whole process tree killed at the time limit (exit 124), and the copy removed
 * afterwards, so nothing the command writes reaches the workspace.
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
}

export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

export const UNSAFE_WARNING =
  'ran WITHOUT isolation (bubblewrap unavailable, --unsafe-sandbox given): the command could read ' +
  'and reach everything this user can';

/** After the command exits, how long to wait for its output pipe to close. */
const CLOSE_GRACE_MS = 500;

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
    const root = mkdtempSync(join(this.options.tempRoot ?? tmpdir(), 'cf-sandbox-'));
    try {
      const workspace = join(root, 'workspace');
      copyWorkspace(request.workspace, workspace);
      if (isolation.isolated) {
        // bwrap itself starts with an empty environment, not just the command (--clearenv):
        // its own environment stays readable inside as /proc/1/environ.
        const args = bwrapArgs({ workspace, command: request.command, network: request.network });
        return await execute(this.options.bwrap ?? 'bwrap', args, { cwd: '/', env: {} }, request);
      }
      const home = join(root, 'home');
      const tmp = join(root, 'tmp');
      mkdirSync(home);
      mkdirSync(tmp);
      const env = { PATH: sandboxPath(), HOME: home, TMPDIR: tmp, LANG: 'C.UTF-8', CI: 'true' };
      const result = await execute('bash', ['-c', request.command], { cwd: workspace, env }, request);
      return { ...result, warning: UNSAFE_WARNING };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}

/**
 * Runs `file args` in its own process group with stderr joined to stdout (through `sh -c 'exec
 * "$@" 2>&1'`, so both streams share one pipe and keep their order), and kills the group at the
 * time limit or as soon as the command exits (stray background processes included).
 */
function execute(
  file: string,
  args: string[],
  spawnOptions: { cwd: string; env: Record<string, string> },
  request: SandboxRequest,
): Promise<SandboxResult> {
  const started = performance.now();
  const capture = new OutputCapture(RUN_HEAD_CHARS, RUN_TAIL_CHARS);
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', file, ...args], {
      ...spawnOptions,
      detached: true,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let timedOut = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const limitTimer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, request.timeoutSeconds * 1000);
    child.stdout.on('data', (chunk: Buffer) => capture.write(chunk));
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(limitTimer);
      clearTimeout(graceTimer);
      child.stdout.destroy();
      const { code, signal } = exit ?? { code: null, signal: null };
      const exitCode = timedOut ? 124 : (code ?? 128 + (signal ? constants.signals[signal] : 0));
      resolve({
        exitCode,
        timedOut,
        ...capture.result(),
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on('error', (error) => {
      clearTimeout(limitTimer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      killGroup();
      graceTimer = setTimeout(finish, CLOSE_GRACE_MS);
    });
    child.stdout.on('close', () => {
      if (exit) finish();
    });
    child.on('close', () => finish());
  });
}
