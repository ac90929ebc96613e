import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Stack } from '../../../local/stack';

/**
 * `npm start` as a child process, as an operator runs it: `tsx local/start.ts` in its own
 * process group, so Ctrl-C (SIGINT to the group) and the cleanup kill reach every process.
 */

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

export interface ReadyLine {
  event: 'ready';
  url: string;
  webhookUrl: string;
  consoleUrl: string;
  forgeUrl: string;
  mailUrl: string;
  apiKey: string;
  endpoints: Stack['endpoints'];
}

export interface StartedStack {
  child: ChildProcessWithoutNullStreams;
  ready: ReadyLine;
  /** Milliseconds from spawn to the ready line. */
  readyMs: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the process group leader exits. */
  exited: Promise<number | string>;
}

/** Starts `npm start -- --data-dir <dir> --port 0` and waits (bounded) for its ready line. */
export async function startChild(
  dataDir: string,
  env: Record<string, string>,
  readyTimeoutMs = 15_000,
): Promise<StartedStack> {
  const started = Date.now();
  const child = spawn(TSX, ['local/start.ts', '--data-dir', dataDir, '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const ready = await new Promise<ReadyLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(
        new Error(`no ready line within ${readyTimeoutMs} ms; stdout: ${out}; stderr: ${err.slice(-2000)}`),
      );
    }, readyTimeoutMs);
    const onData = () => {
      const line = out.split('\n').find((l) => l.startsWith('{') && l.includes('"ready"'));
      if (!line) return;
      cleanup();
      resolve(JSON.parse(line) as ReadyLine);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`npm start exited before it was ready; stderr: ${err.slice(-2000)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  return { child, ready, readyMs: Date.now() - started, stdout: () => out, stderr: () => err, exited };
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Sends a signal to the child's whole process group (what a terminal does on Ctrl-C). */
export function signalGroup(child: ChildProcessWithoutNullStreams, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** afterAll: kills whatever is still running, by process group. */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      signalGroup(child, 'SIGKILL');
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    }),
  );
}

/** Whether the port can be bound again on 127.0.0.1 (that is, nothing listens on it any more). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export const portOf = (url: string): number => Number(new URL(url).port);

/** Resolves with the value, or rejects after `ms` saying what did not happen. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]);
}
