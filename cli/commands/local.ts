import type { Command } from 'commander';
import { UsageError } from '../connection';
import type { CliContext } from '../io';
import { call, RemoteError, stackInfo } from '../local-stack';
import { registerImportCommand } from './local-import';

/**
 * `code-factory local as USER label|comment|issue|pr …`: act as one of the embedded stack's sample
 * users (alice, bob, mallory) on its forge, through the forge's GitHub REST API with that user's
 * token. The forge and the tokens come from the running stack's local-only `GET /local/info`
 * (FACTORY_URL or --url: the `url` that `npm start` prints); a deployment has no such route.
 *
 * Exit codes: 0 done, 2 usage errors, 3 the stack or the forge refused or could not be reached.
 */
export const LOCAL_EXIT = { ok: 0, usage: 2, error: 3 } as const;

const NAME = '[A-Za-z0-9_.-]{1,100}';
const REPO = new RegExp(`^(${NAME})/(${NAME})$`);
const ISSUE = new RegExp(`^(${NAME})/(${NAME})#([1-9][0-9]{0,9})$`);

interface AsOptions {
  url?: string;
  body?: string;
  head?: string;
  base?: string;
  title?: string;
  json?: boolean;
}

function parseIssue(target: string | undefined) {
  const match = ISSUE.exec(target ?? '');
  if (!match) throw new UsageError(`expected OWNER/REPO#NUMBER, got ${target ?? 'nothing'}`);
  return { owner: match[1] as string, repo: match[2] as string, number: Number(match[3]) };
}

function parseRepo(target: string | undefined) {
  const match = REPO.exec(target ?? '');
  if (!match) throw new UsageError(`expected OWNER/REPO, got ${target ?? 'nothing'}`);
  return { owner: match[1] as string, repo: match[2] as string };
}

/** What one action sends to the forge, and the line it prints. */
async function act(
  api: string,
  token: string,
  user: string,
  action: string,
  args: string[],
  options: AsOptions,
) {
  const repoPath = (r: { owner: string; repo: string }) =>
    `${api}/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repo)}`;
  const expectArgs = (n: number, usage: string) => {
    if (args.length !== n) throw new UsageError(`usage: code-factory local as USER ${usage}`);
  };
  switch (action) {
    case 'label': {
      expectArgs(2, 'label OWNER/REPO#N LABEL');
      const target = parseIssue(args[0]);
      const label = args[1] as string;
      await call(`${repoPath(target)}/issues/${target.number}/labels`, {
        method: 'POST',
        token,
        body: { labels: [label] },
      });
      return { line: `${user} labelled ${args[0]} ${label}`, result: { target: args[0], label } };
    }
    case 'comment': {
      expectArgs(2, 'comment OWNER/REPO#N TEXT');
      const target = parseIssue(args[0]);
      const comment = await call(`${repoPath(target)}/issues/${target.number}/comments`, {
        method: 'POST',
        token,
        body: { body: args[1] },
      });
      return { line: `${user} commented on ${args[0]}: ${String(comment.html_url ?? '')}`, result: comment };
    }
    case 'issue': {
      expectArgs(2, 'issue OWNER/REPO TITLE [--body TEXT]');
      const target = parseRepo(args[0]);
      const issue = await call(`${repoPath(target)}/issues`, {
        method: 'POST',
        token,
        body: { title: args[1], ...(options.body === undefined ? {} : { body: options.body }) },
      });
      return {
        line: `${user} opened ${args[0]}#${String(issue.number)}: ${String(issue.html_url ?? '')}`,
        result: issue,
      };
    }
    case 'pr': {
      expectArgs(1, 'pr OWNER/REPO --head BRANCH --title TEXT [--base BRANCH] [--body TEXT]');
      const target = parseRepo(args[0]);
      if (!options.head || !options.title) throw new UsageError('pr needs --head BRANCH and --title TEXT');
      const base = options.base ?? String((await call(repoPath(target), { token })).default_branch ?? 'main');
      const pull = await call(`${repoPath(target)}/pulls`, {
        method: 'POST',
        token,
        body: {
          title: options.title,
          head: options.head,
          base,
          ...(options.body === undefined ? {} : { body: options.body }),
        },
      });
      return {
        line: `${user} opened pull request ${args[0]}#${String(pull.number)}: ${String(pull.html_url ?? '')}`,
        result: pull,
      };
    }
    default:
      throw new UsageError(`unknown action ${action}: label, comment, issue or pr`);
  }
}

export function registerLocalCommands(program: Command, ctx: CliContext): void {
  const local = program
    .command('local')
    .description('the embedded stack (npm start): act as its sample users, import your own repository')
    .option('--url <url>', 'the stack’s URL as npm start prints it (default: $FACTORY_URL)');

  registerImportCommand(local, ctx);

  local
    .command('as')
    .description(
      'act as a sample user on the forge: label OWNER/REPO#N LABEL | comment OWNER/REPO#N TEXT | issue OWNER/REPO TITLE [--body T] | pr OWNER/REPO --head B --title T',
    )
    .argument('<user>', 'alice, bob or mallory (any forge user with a token)')
    .argument('<action>', 'label, comment, issue or pr')
    .argument('[args...]', 'what the action needs')
    .option('--body <text>', 'issue or pull request body')
    .option('--head <branch>', 'pr: the branch with the changes')
    .option('--base <branch>', 'pr: the branch to merge into (default: the repository’s default)')
    .option('--title <text>', 'pr: its title')
    .option('--json', 'print what the forge answered as JSON')
    .action(async (user: string, action: string, args: string[], _options: unknown, command: Command) => {
      const options = command.optsWithGlobals<AsOptions>();
      try {
        const url = options.url ?? process.env.FACTORY_URL;
        if (!url) throw new UsageError('set FACTORY_URL or pass --url (the url npm start prints)');
        if (!['label', 'comment', 'issue', 'pr'].includes(action)) {
          throw new UsageError(`unknown action ${action}: label, comment, issue or pr`);
        }
        const info = await stackInfo(url);
        const token = info.users.find((u) => u.login === user)?.token;
        if (!token) {
          throw new UsageError(`no user ${user} on this stack: ${info.users.map((u) => u.login).join(', ')}`);
        }
        const done = await act(info.forge_api_url.replace(/\/+$/, ''), token, user, action, args, options);
        ctx.io.stdout(options.json ? `${JSON.stringify(done.result)}\n` : `${done.line}\n`);
        ctx.exitCode = LOCAL_EXIT.ok;
      } catch (error) {
        if (!(error instanceof UsageError) && !(error instanceof RemoteError)) throw error;
        ctx.io.stderr(`code-factory: ${error.message}\n`);
        ctx.exitCode = error instanceof UsageError ? LOCAL_EXIT.usage : LOCAL_EXIT.error;
      }
    });
}
