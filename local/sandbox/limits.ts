import type { SandboxResult } from '../../functions/shared/ports';

/**
 * Per-command resource limits of the local runner (set with bash's `ulimit` inside bubblewrap,
 * before the command, as hard limits it cannot raise), so a command cannot take the machine the
 * factory runs on: memory, processes (fork bombs), CPU time and file size. They are per process,
 * as rlimits are: `processes` bounds how many there are, so the total stays bounded too. The
 * process count is the sandbox's own (its user namespace has its own count); the kernel exempts
 * root from it, so a runner running as root runs the sandbox as `nobody` (runner.ts). On AWS the function's
 * memory and Lambda's own process limit bound a command instead (decision 0005).
 */
export interface CommandLimits {
  /** Writable memory of one process (RLIMIT_DATA: heap and anonymous mappings). */
  memoryBytes: number;
  /** Processes and threads of the sandbox at once (RLIMIT_NPROC). */
  processes: number;
  /** CPU seconds of one process (RLIMIT_CPU); default the command's time limit. */
  cpuSeconds?: number;
  /** Largest file a process may write (RLIMIT_FSIZE): the workspace copy is on the host's disk. */
  fileBytes: number;
}

export const DEFAULT_COMMAND_LIMITS: CommandLimits = {
  memoryBytes: 2 * 1024 ** 3,
  processes: 256,
  fileBytes: 1024 ** 3,
};

/** bash's `-c` script that sets the limits, then runs the command (`$1`) in a fresh bash. */
export function limitedScript(limits: CommandLimits, timeoutSeconds: number): string {
  const kib = (bytes: number) => Math.max(1, Math.floor(bytes / 1024));
  const cpu = limits.cpuSeconds ?? timeoutSeconds;
  // CPU: the soft limit sends SIGXCPU (a clear exit 152), the hard one SIGKILL a little later.
  return (
    `ulimit -d ${kib(limits.memoryBytes)} -u ${limits.processes} -f ${kib(limits.fileBytes)} ` +
    `&& ulimit -S -t ${cpu} && ulimit -H -t ${cpu + 5} || exit 125; exec bash -c "$1"`
  );
}

const SIGXCPU_EXIT = 128 + 24;
const SIGXFSZ_EXIT = 128 + 25;
const FILE_TOO_LARGE = /File size limit exceeded/;
const FORK_FAILED = /fork: (retry: )?(Resource temporarily unavailable|Cannot allocate memory)/;
const OUT_OF_MEMORY =
  /Cannot allocate memory|out of memory|allocation failed|MemoryError|std::bad_alloc|heap limit|Killed process/i;

const gib = (bytes: number) => `${Math.round((bytes / 1024 ** 3) * 10) / 10} GiB`;

/** What the model is told when a command likely ran into a limit, or undefined. */
export function limitNote(
  result: Pick<SandboxResult, 'exitCode' | 'timedOut' | 'head' | 'tail'>,
  limits: CommandLimits,
  timeoutSeconds: number,
): string | undefined {
  const output = result.head + result.tail;
  if (FORK_FAILED.test(output))
    return `[sandbox: the command reached the limit of ${limits.processes} processes; it cannot start more]`;
  if (result.timedOut) return undefined;
  if (result.exitCode === SIGXCPU_EXIT)
    return `[sandbox: a process used its ${limits.cpuSeconds ?? timeoutSeconds} s of CPU time and was stopped]`;
  if (result.exitCode === SIGXFSZ_EXIT || FILE_TOO_LARGE.test(output))
    return `[sandbox: a process tried to write a file over ${gib(limits.fileBytes)} and was stopped]`;
  if (result.exitCode !== 0 && OUT_OF_MEMORY.test(output))
    return `[sandbox: a process ran out of memory; each may use at most ${gib(limits.memoryBytes)}]`;
  return undefined;
}
