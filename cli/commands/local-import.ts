import { execFile } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { DETECTION_FILES, detectEnvironment } from '../../functions/stages/detect-checks';
import { UsageError } from '../connection';
import type { CliContext } from '../io';
import { call, RemoteError, stackInfo } from '../local-stack';

/**
 * `code-factory local import PATH [--name OWNER/REPO] [--ci-command CMD]`: a local git repository's
 * default branch (the one checked out), history included, into the running embedded stack's forge,
 * so the factory can work on your own code. The stack makes the empty repository (POST /local/repos:
 * the sample users as collaborators, the `factory` label, the CI command), then alice pushes with
 * plain `git push` over HTTP, her token sent as a header (never on the command line or in a URL).
 *
 * Exit codes: 0 imported, 2 usage errors (not a repository, no branch checked out), 3 refused
 * (a symlink leaving the tree, the name taken, the stack or the push failed).
 */

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const PUSHER = 'alice';
/** git's own limits are the caller's; these only bound a stuck process. */
const GIT_TIMEOUT_MS = 10 * 60_000;
const GIT_MAX_OUTPUT = 256 * 1024 * 1024;

interface ImportOptions {
  url?: string;
  name?: string;
  ciCommand?: string;
  json?: boolean;
}

class Refused extends Error {}

function gitBytes(
  cwd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        cwd,
        encoding: 'buffer',
        timeout: GIT_TIMEOUT_MS,
        maxBuffer: GIT_MAX_OUTPUT,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...options.env },
      },
      (error, stdout, stderr) => {
        const why = (stderr.toString('utf8') || error?.message || '').trim().split('\n').slice(-3).join(' ');
        if (error) reject(new Refused(`git ${args[0]}: ${why}`));
        else resolve(stdout);
      },
    );
    // git may exit before reading its input (an error); that is reported above, not as EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input);
  });
}

const git = async (
  cwd: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
) => (await gitBytes(cwd, args, options)).toString('utf8');

interface TreeEntry {
  mode: string;
  sha: string;
  path: string;
}

/** Every entry of the branch's tree (`git ls-tree -r -z`). */
async function treeEntries(repo: string, branch: string): Promise<TreeEntry[]> {
  const out = await git(repo, ['ls-tree', '-r', '-z', '--full-tree', `refs/heads/${branch}`]);
  return out
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, , sha] = line.slice(0, tab).split(' ');
      return { mode: mode as string, sha: sha as string, path: line.slice(tab + 1) };
    });
}

/** How many symlinks one path may go through (Linux's own limit). */
const MAX_LINK_HOPS = 40;

/**
 * Whether following the link at `from` (its target `target`) leaves the tree: resolved through
 * the tree's other links component by component, as the file system would, since a link to a
 * shallower directory makes a lexically harmless `..` climb out.
 */
function leavesTree(from: string, target: string, links: ReadonlyMap<string, string>): boolean {
  const parts = from.split('/').slice(0, -1);
  let queue = target.split('/');
  if (target.startsWith('/')) return true;
  for (let hops = 0; queue.length > 0; ) {
    const part = queue.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) return true;
      parts.pop();
      continue;
    }
    parts.push(part);
    const next = links.get(parts.join('/'));
    if (next === undefined) continue;
    hops += 1;
    if (hops > MAX_LINK_HOPS || next.startsWith('/')) return true;
    parts.pop();
    queue = [...next.split('/'), ...queue];
  }
  return false;
}

/** The symlinks whose target is absolute or, followed, climbs out of the repository's tree. */
async function escapingSymlinks(repo: string, entries: TreeEntry[]): Promise<string[]> {
  const links = entries.filter((entry) => entry.mode === '120000');
  if (links.length === 0) return [];
  const out = await gitBytes(repo, ['cat-file', '--batch'], {
    input: `${links.map((link) => link.sha).join('\n')}\n`,
  });
  const targets = new Map<string, string>();
  let offset = 0;
  for (const link of links) {
    const headerEnd = out.indexOf(0x0a, offset);
    const size = Number(out.subarray(offset, headerEnd).toString('latin1').split(' ')[2]);
    targets.set(link.path, out.subarray(headerEnd + 1, headerEnd + 1 + size).toString('utf8'));
    offset = headerEnd + 1 + size + 1;
  }
  return [...targets]
    .filter(([from, target]) => /^[A-Za-z]:[\\/]/.test(target) || leavesTree(from, target, targets))
    .map(([from, target]) => `${from} -> ${target}`);
}

/** The CI command from the root's files, as the sandbox detects its default checks. */
async function detectCiCommand(
  repo: string,
  branch: string,
  entries: TreeEntry[],
): Promise<string | undefined> {
  const names = new Set(entries.map((entry) => entry.path.split('/')[0] as string));
  const files: Partial<Record<(typeof DETECTION_FILES)[number], string>> = {};
  for (const file of DETECTION_FILES) {
    if (entries.some((entry) => entry.path === file))
      files[file] = await git(repo, ['show', `refs/heads/${branch}:${file}`]);
  }
  const detected = detectEnvironment({ files, names });
  return detected ? [...detected.setup, ...detected.checks].join(' && ') : undefined;
}

async function ask(question: string): Promise<string> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await prompt.question(question)).trim();
  } finally {
    prompt.close();
  }
}

async function importRepository(url: string, source: string, options: ImportOptions, ctx: CliContext) {
  const repo = path.resolve(source);
  const top = (await git(repo, ['rev-parse', '--show-toplevel']).catch(() => '')).trim();
  if (!top) throw new UsageError(`${repo} is not a git repository with a work tree`);
  const branch = (await git(top, ['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
  if (!branch) throw new UsageError(`${top}: check out the branch to import (HEAD is detached)`);
  await git(top, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`]).catch(() => {
    throw new UsageError(`${top}: branch ${branch} has no commits yet`);
  });
  const parts = options.name
    ? options.name.split('/')
    : [
        'acme',
        path
          .basename(top)
          .replace(/\.git$/, '')
          .replace(/[^A-Za-z0-9_.-]+/g, '-') || 'imported',
      ];
  const [owner, name] = parts;
  if (parts.length !== 2 || !owner || !name || !NAME.test(owner) || !NAME.test(name))
    throw new UsageError(`--name must be OWNER/REPO, got ${options.name ?? parts.join('/')}`);

  const entries = await treeEntries(top, branch);
  const escaping = await escapingSymlinks(top, entries);
  if (escaping.length > 0)
    throw new Refused(`refusing symlinks that leave the repository: ${escaping.slice(0, 5).join(', ')}`);
  let ciCommand = options.ciCommand ?? (await detectCiCommand(top, branch, entries));
  if (ciCommand === undefined && process.stdin.isTTY)
    ciCommand =
      (await ask('No test command detected. CI command for pull requests (empty for none): ')) || undefined;

  const info = await stackInfo(url);
  const token = info.users.find((user) => user.login === PUSHER)?.token;
  if (!token) throw new RemoteError(`the stack has no user ${PUSHER} to push as`);
  const created = (
    await call(`${url.replace(/\/+$/, '')}/local/repos`, {
      method: 'POST',
      body: { owner, name, default_branch: branch, ci_command: ciCommand ?? null },
    })
  ).data as { full_name: string; html_url: string; clone_url: string };

  const basic = Buffer.from(`${PUSHER}:${token}`).toString('base64');
  await git(
    top,
    ['push', '--quiet', '--no-verify', created.clone_url, `refs/heads/${branch}:refs/heads/${branch}`],
    {
      env: {
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'http.extraHeader',
        GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
      },
    },
  );
  const files = entries.filter((entry) => entry.mode !== '160000').length;
  const result = { ...created, branch, files, ci_command: ciCommand ?? null, pushed_as: PUSHER };
  ctx.io.stdout(
    options.json
      ? `${JSON.stringify(result)}\n`
      : [
          `imported ${top} (${branch}, ${files} files) as ${created.full_name}: ${created.html_url}`,
          `CI command: ${ciCommand ?? 'none (pull requests get no CI checks)'}`,
          `next: code-factory local as alice issue ${created.full_name} "What to do" then label it factory`,
          '',
        ].join('\n'),
  );
}

export function registerImportCommand(local: Command, ctx: CliContext): void {
  local
    .command('import')
    .description("import a local git repository's checked-out branch into the embedded stack's forge")
    .argument('<path>', 'the repository (its work tree)')
    .option('--name <owner/repo>', 'the name on the forge (default: acme/<directory name>)')
    .option('--ci-command <command>', 'what CI runs on pull requests (default: detected from the root)')
    .option('--json', 'print the result as JSON')
    .action(async (source: string, _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<ImportOptions>();
      try {
        const url = options.url ?? process.env.FACTORY_URL;
        if (!url) throw new UsageError('set FACTORY_URL or pass --url (the url npm start prints)');
        await importRepository(url, source, options, ctx);
        ctx.exitCode = 0;
      } catch (error) {
        if (!(error instanceof UsageError) && !(error instanceof RemoteError) && !(error instanceof Refused))
          throw error;
        ctx.io.stderr(`code-factory: ${error.message}\n`);
        ctx.exitCode = error instanceof UsageError ? 2 : 3;
      }
    });
}
