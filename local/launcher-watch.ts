import { readFileSync } from 'node:fs';

/**
 * `npm start` runs `sh -c "tsx local/start.ts"`. A SIGTERM sent to npm alone (a process manager,
 * `kill <npm pid>`) ends npm and its shell, which does not pass the signal on: tsx and the stack
 * would keep running, orphaned, holding their ports. So under `npm start` the stack watches the
 * processes that launched it (tsx, sh, npm: three) and stops as on SIGTERM when one of them is gone.
 */
const MAX_LAUNCHERS = 3;

/** The parent of `pid` from /proc (Linux); undefined elsewhere or when it has gone. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

export function launcherPids(): number[] {
  const pids: number[] = [];
  let pid: number | undefined = process.ppid;
  while (pid !== undefined && pid > 1 && pids.length < MAX_LAUNCHERS) {
    pids.push(pid);
    pid = parentOf(pid);
  }
  return pids;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `gone` once, when a launcher has exited; checks every second without keeping the process up. */
export function whenLauncherGone(gone: () => void, intervalMs = 1000): void {
  const watched = launcherPids();
  const timer = setInterval(() => {
    if (!watched.every(alive)) {
      clearInterval(timer);
      gone();
    }
  }, intervalMs);
  timer.unref();
}
