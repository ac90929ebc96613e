import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Sandbox, SandboxRequest, SandboxResult } from '../shared/ports';
import { collectCreated, pathsBelow } from './collect';
import { copyWorkspace } from './copy';
import { execute } from './execute';

/** The PATH a command sees: this Node's folder and the system's, nothing else of the caller's. */
export const SANDBOX_PATH = `${dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * Runs `bash -c command` as a plain child process on a fresh copy of the workspace, with an
 * environment of its own (PATH, HOME, TMPDIR, LANG, CI; a setup command also its registry tokens)
 * and nothing of the caller's. On AWS this
 * is the dedicated sandbox function, whose role has no permission at all, so credentials it could
 * still find are worth nothing (decision 0005); locally it is the runner of `--unsafe-sandbox`.
 */
export class ProcessSandbox implements Sandbox {
  constructor(private readonly options: { tempRoot?: string } = {}) {}

  async run(request: SandboxRequest): Promise<SandboxResult> {
    const root = mkdtempSync(join(this.options.tempRoot ?? tmpdir(), 'cf-sandbox-'));
    try {
      const workspace = join(root, 'workspace');
      const home = join(root, 'home');
      const tmp = join(root, 'tmp');
      copyWorkspace(request.workspace, workspace);
      const before = request.collectInto ? pathsBelow(workspace) : undefined;
      mkdirSync(home);
      mkdirSync(tmp);
      const credentials = request.credentials;
      for (const [name, content] of Object.entries(credentials?.homeFiles ?? {}))
        writeFileSync(join(home, name), content, { mode: 0o600 });
      const env = {
        ...credentials?.env,
        PATH: SANDBOX_PATH,
        HOME: home,
        TMPDIR: tmp,
        LANG: 'C.UTF-8',
        CI: 'true',
      };
      const result = await execute(
        'bash',
        ['-c', request.command],
        { cwd: workspace, env },
        request.timeoutSeconds,
      );
      if (before && request.collectInto) collectCreated(workspace, before, request.collectInto);
      return result;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
}
