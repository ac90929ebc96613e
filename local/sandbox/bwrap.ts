import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The bubblewrap command line of one sandboxed command. The sandbox's root is an empty tmpfs
 * holding only: the system directories read-only (/usr and the /bin, /lib, /lib64, /sbin links
 * or directories), an allowlist of /etc files (no /etc/ssl/private, no shadow, no npmrc), the
 * directory of the Node binary read-only when it is outside /usr, the workspace copy read-write
 * at /workspace, and fresh, size-bounded tmpfs mounts for /tmp and $HOME. Every namespace is
 * new (no network unless asked, its own PID space so /proc shows only the sandbox), capabilities
 * are dropped, the command runs as an unprivileged uid in its own session, dies with the runner,
 * and starts from an empty environment plus PATH, HOME, LANG, TMPDIR and CI. The host user is
 * mapped to that uid, so every bound file is readable inside: hence the allowlists.
 *
 * With network, the host's network namespace is shared, loopback included: a repository that
 * opts into network also reaches the embedded stack's emulators.
 */

export const SANDBOX_WORKDIR = '/workspace';
export const SANDBOX_HOME = '/home/sandbox';
/** The tmpfs mounts live in memory: bounded so a command cannot fill the machine's RAM through them. */
export const TMP_BYTES = 512 * 1024 * 1024;
export const HOME_BYTES = 64 * 1024 * 1024;

const SYSTEM_DIRS = ['/usr', '/bin', '/lib', '/lib32', '/lib64', '/libx32', '/sbin'];

const ETC_ALLOWLIST = [
  'alternatives',
  'ca-certificates',
  'ca-certificates.conf',
  'debian_version',
  'group',
  'host.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'mime.types',
  'nsswitch.conf',
  'os-release',
  'passwd',
  'protocols',
  'services',
  'ssl/certs',
  'ssl/openssl.cnf',
  'timezone',
];
/** Bound only when the command has network. */
const ETC_NETWORK = ['hosts', 'resolv.conf', 'gai.conf'];

export interface BwrapCommand {
  workspace: string;
  command: string;
  network: boolean;
  /** Where Node lives (default: this process's binary). */
  nodePath?: string;
  /** More variables for the command, after PATH, HOME, TMPDIR, LANG and CI. */
  env?: Record<string, string>;
  /** Host files bound read-only into the command's HOME under `name` (a setup's registry config). */
  homeFiles?: Array<{ source: string; name: string }>;
  /** `bash -c` script run before the command (`$1`): the resource limits (limits.ts). */
  prelude?: string;
}

export function sandboxPath(nodeDir?: string): string {
  const path = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  return nodeDir && !path.split(':').includes(nodeDir) ? `${nodeDir}:${path}` : path;
}

export function bwrapArgs(options: BwrapCommand): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--uid',
    '1000',
    '--gid',
    '1000',
    '--hostname',
    'sandbox',
    '--cap-drop',
    'ALL',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
  ];
  if (options.network) args.push('--share-net');
  for (const dir of SYSTEM_DIRS) {
    const kind = kindOf(dir);
    if (kind === 'link') args.push('--symlink', readlinkSync(dir), dir);
    else if (kind === 'dir') args.push('--ro-bind', dir, dir);
  }
  for (const name of options.network ? [...ETC_ALLOWLIST, ...ETC_NETWORK] : ETC_ALLOWLIST) {
    const path = `/etc/${name}`;
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  const nodeDir = dirname(options.nodePath ?? process.execPath);
  const nodeInSystem = SYSTEM_DIRS.some((dir) => nodeDir === dir || nodeDir.startsWith(`${dir}/`));
  if (!nodeInSystem && nodeDir !== '/') args.push('--ro-bind', nodeDir, nodeDir);
  args.push(
    '--dev',
    '/dev',
    '--proc',
    '/proc',
    '--size',
    String(TMP_BYTES),
    '--tmpfs',
    '/tmp',
    '--size',
    String(HOME_BYTES),
    '--tmpfs',
    SANDBOX_HOME,
    '--bind',
    options.workspace,
    SANDBOX_WORKDIR,
    ...(options.homeFiles ?? []).flatMap(({ source, name }) => [
      '--ro-bind',
      source,
      `${SANDBOX_HOME}/${name}`,
    ]),
    '--chdir',
    SANDBOX_WORKDIR,
    '--setenv',
    'PATH',
    sandboxPath(nodeInSystem ? undefined : nodeDir),
    '--setenv',
    'HOME',
    SANDBOX_HOME,
    '--setenv',
    'TMPDIR',
    '/tmp',
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--setenv',
    'CI',
    'true',
    ...Object.entries(options.env ?? {}).flatMap(([name, value]) => ['--setenv', name, value]),
    '--',
    'bash',
    '-c',
    ...(options.prelude ? [options.prelude, 'sandbox', options.command] : [options.command]),
  );
  return args;
}

function kindOf(path: string): 'link' | 'dir' | 'missing' {
  try {
    const stat = lstatSync(path);
    return stat.isSymbolicLink() ? 'link' : stat.isDirectory() ? 'dir' : 'missing';
  } catch {
    return 'missing';
  }
}

/** Linux's `nobody`: what the sandbox runs as when the factory itself runs as root (runner.ts). */
export const UNPRIVILEGED_ID = 65534;

export type BwrapProbe = { available: true } | { available: false; reason: string };

const probes = new Map<string, BwrapProbe>();

/**
 * Whether bubblewrap is installed and works here, checked once per binary by running `true`
 * with the same command line a real command gets: containers often forbid the user namespaces
 * bubblewrap needs, and then it is installed but useless.
 */
export function probeBwrap(bwrap = 'bwrap'): BwrapProbe {
  const known = probes.get(bwrap);
  if (known) return known;
  const workspace = mkdtempSync(join(tmpdir(), 'cf-sandbox-probe-'));
  let probe: BwrapProbe;
  try {
    const root = process.getuid?.() === 0;
    if (root) chownSync(workspace, UNPRIVILEGED_ID, UNPRIVILEGED_ID);
    const result = spawnSync(bwrap, bwrapArgs({ workspace, command: 'true', network: false }), {
      env: {},
      ...(root ? { uid: UNPRIVILEGED_ID, gid: UNPRIVILEGED_ID } : {}),
      timeout: 10_000,
      encoding: 'utf8',
    });
    if (result.error) {
      const code = (result.error as NodeJS.ErrnoException).code;
      probe = {
        available: false,
        reason: code === 'ENOENT' ? `${bwrap} is not installed` : `${bwrap} failed to start (${code})`,
      };
    } else if (result.status !== 0) {
      const said = result.stderr.trim().split('\n')[0] ?? '';
      probe = {
        available: false,
        reason: `${bwrap} cannot create its namespaces here (exit ${result.status}${said ? `: ${said}` : ''})`,
      };
    } else {
      probe = { available: true };
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
  probes.set(bwrap, probe);
  return probe;
}
