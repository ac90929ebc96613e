import type { Command } from 'commander';
import { parseFactoryConfig } from '../../functions/shared/domain/contract';
import { LIMITS } from '../../functions/shared/domain/factory-config';
import type { ConfigProblem } from '../../functions/shared/domain/factory-config-yaml';
import type { CliContext } from '../io';
import { readTextFileLimited } from '../read-limited';

/** `path.to.field: message`, YAML syntax errors as `line L, column C: message`. */
export function formatProblem(problem: ConfigProblem): string {
  const flat = problem.message.replace(/\s+/g, ' ').trim();
  if (problem.path === '(yaml)') return `line ${problem.line ?? '?'}, column ${problem.col ?? '?'}: ${flat}`;
  const at = problem.line === undefined ? '' : ` (line ${problem.line}, column ${problem.col ?? '?'})`;
  return `${problem.path}: ${flat}${at}`;
}

/** `code-factory config check FILE`: validates a `.github/factory.yml`. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('work with .github/factory.yml');
  config
    .command('check')
    .description('validate a .github/factory.yml; exit 1 on any problem')
    .argument('<file>', 'path of the factory.yml to check')
    .option('--json', 'print the result as one JSON object')
    .action(async (file: string, options: { json?: boolean }) => {
      const read = await readTextFileLimited(file, LIMITS.fileBytes);
      if (!read.ok) {
        if (options.json) ctx.io.stdout(`${JSON.stringify({ ok: false, file, error: read.message })}\n`);
        else ctx.io.stderr(`${file}: ${read.message}\n`);
        ctx.exitCode = 1;
        return;
      }
      const result = parseFactoryConfig(read.text);
      if (options.json) {
        ctx.io.stdout(
          `${JSON.stringify(result.ok ? { ok: true, file, contract: result.contract, summary: result.summary } : { ok: false, file, errors: result.errors })}\n`,
        );
        ctx.exitCode = result.ok ? 0 : 1;
        return;
      }
      if (!result.ok) {
        for (const problem of result.errors) ctx.io.stdout(`${formatProblem(problem)}\n`);
        const n = result.errors.length;
        ctx.io.stderr(`${file}: ${n} problem${n === 1 ? '' : 's'}\n`);
        ctx.exitCode = 1;
        return;
      }
      ctx.io.stdout(`${file}: ok: ${result.summary}\n`);
      ctx.exitCode = 0;
    });
}
