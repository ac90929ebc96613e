import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { RUN_HEAD_CHARS, RUN_TAIL_CHARS } from '../shared/domain/run-output';
import type { SandboxResult } from '../shared/ports';
import { OutputCapture } from './capture';

/** After the command exits, how long to wait for its output pipe to close. */
const CLOSE_GRACE_MS = 500;

/**
 * Runs `file args` in its own process group with stderr joined to stdout (through `sh -c 'exec
 * "$@" 2>&1'`, so both streams share one pipe and keep their order), and kills the group at the
 * time limit or as soon as the command exits (stray background processes included).
 */
export function execute(
  file: string,
  args: string[],
  spawnOptions: { cwd: string; env: Record<string, string>; uid?: number; gid?: number },
  timeoutSeconds: number,
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
    }, timeoutSeconds * 1000);
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
