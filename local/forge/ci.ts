import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bwrapArgs, probeBwrap, SANDBOX_WORKDIR } from '../sandbox/bwrap';

/**
 * The forge's local CI: runs a repository's check command in a temporary checkout, with a timeout,
 * a minimal environment (no secrets of the host process leak into the job) and bounded output.
 * The command is code a model wrote: under bubblewrap when it works here (the sandbox's own
 * command line, with network, as a CI machine has), else as a plain child process.
 */

export interface CheckJobResult {
  conclusion: 'success' | 'failure' | 'timed_out';
  exitCode: number | null;
  durationMs: number;
  /** The tail of the combined stdout/stderr. */
  log: string;
  truncated: boolean;
  /** Where the checkout was (gone by now): the prefix of absolute paths in the log. */
  workdir: string;
}

export interface CheckJob {
  command: string;
  /** Writes the files of the commit under test into the directory. */
  checkout: (dir: string) => Promise<void>;
  timeoutMs: number;
  /** Bytes of output kept (the tail). */
  maxOutputBytes?: number;
  /** Aborting kills the command (the forge is closing). */
  signal?: AbortSignal;
}

/**
 * Bytes of output a job keeps by default (its tail). GitHub keeps a job's whole log; a long test
 * suite's output (node --test's TAP for 1,400 tests is 300 KB) names its failures far from the
 * end, so the tail must hold all of it for the factory to find them.
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024 * 1024;

export async function runCheckJob(job: CheckJob): Promise<CheckJobResult> {
  const started = Date.now();
  const root = await mkdtemp(path.join(os.tmpdir(), 'forge-ci-'));
  const workdir = path.join(root, 'work');
  const home = path.join(root, 'home');
  const output = new TailBuffer(job.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
  try {
    try {
      await job.checkout(workdir);
    } catch (error) {
      output.push(
        Buffer.from(`checkout failed: ${error instanceof Error ? error.message : String(error)}\n`),
      );
      return {
        conclusion: 'failure',
        exitCode: null,
        durationMs: Date.now() - started,
        workdir,
        ...output.result(),
      };
    }
    const isolated = probeBwrap().available;
    const { exitCode, timedOut } = await runCommand(
      job.command,
      workdir,
      home,
      job.timeoutMs,
      output,
      job.signal,
      isolated,
    );
    if (timedOut)
      output.push(Buffer.from(`\n[forge-ci] timed out after ${Math.round(job.timeoutMs / 1000)} s\n`));
    const conclusion = timedOut ? 'timed_out' : exitCode === 0 ? 'success' : 'failure';
    return {
      conclusion,
      exitCode,
      durationMs: Date.now() - started,
      workdir: isolated ? SANDBOX_WORKDIR : workdir,
      ...output.result(),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

function runCommand(
  command: string,
  cwd: string,
  home: string,
  timeoutMs: number,
  output: TailBuffer,
  signal: AbortSignal | undefined,
  isolated: boolean,
): Promise<{ exitCode: number | null; timedOut: boolean }> {
  // No NO_COLOR or FORCE_COLOR: GitHub Actions sets neither, and a test suite that checks its own
  // colour handling (commander.js sets FORCE_COLOR and expects colours) fails under NO_COLOR=1.
  // Without a terminal the usual tools print no colours anyway, and the factory strips any.
  const [file, args, env, dir] = isolated
    ? ['bwrap', bwrapArgs({ workspace: cwd, command, network: true }), {}, '/']
    : [
        '/bin/sh',
        ['-c', command],
        {
          PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
          HOME: home,
          TMPDIR: os.tmpdir(),
          LANG: 'C.UTF-8',
          CI: 'true',
        },
        cwd,
      ];
  return new Promise((resolve) => {
    // Own process group, so a timeout kills the command and everything it started.
    const child = spawn(file, args, { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    let timedOut = false;
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    signal?.addEventListener('abort', killGroup, { once: true });
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', (error) => {
      output.push(Buffer.from(`${error.message}\n`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', killGroup);
      // Stragglers of the job (background processes) do not outlive it.
      killGroup();
      resolve({ exitCode: code, timedOut });
    });
  });
}

/** Keeps the last `limit` bytes written to it. */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limit;
      this.dropped = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  result(): { log: string; truncated: boolean } {
    return { log: Buffer.concat(this.chunks).toString('utf8'), truncated: this.dropped };
  }
}

/** Runs at most `limit` tasks at a time, in submission order. */
export class Limiter {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  get busy(): boolean {
    return this.running > 0 || this.waiting.length > 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so the limit is never exceeded.
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }
}
