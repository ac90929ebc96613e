import { Command, CommanderError } from 'commander';
import { registerAskCommand } from './commands/ask';
import { registerAuditCommands } from './commands/audit';
import { registerConfigCommands } from './commands/config';
import { registerCostsCommands } from './commands/costs';
import { registerKeysCommands } from './commands/keys';
import { registerLocalCommands } from './commands/local';
import { registerRunsCommands } from './commands/runs';
import { type CliContext, type CliIo, processIo } from './io';

/** Exit code for a usage error (unknown command, missing argument), as most CLIs do. */
export const USAGE_ERROR = 2;

/**
 * The `code-factory` program. Each command lives in `cli/commands/<group>.ts` and registers
 * itself here (`config` now; `runs`, `keys` speak the REST API when they land).
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('code-factory')
    .description('Code Factory: runs, audit, the copilot, API keys and config checks')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout(text),
      writeErr: (text) => ctx.io.stderr(text),
    })
    .showHelpAfterError('(run code-factory --help for usage)');
  registerConfigCommands(program, ctx);
  registerRunsCommands(program, ctx);
  registerKeysCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerCostsCommands(program, ctx);
  registerLocalCommands(program, ctx);
  registerAskCommand(program, ctx);
  // Subcommands inherit exitOverride and output only when set before they are created; set again.
  for (const command of program.commands) {
    command.exitOverride().configureOutput(program.configureOutput());
    for (const sub of command.commands) sub.exitOverride().configureOutput(program.configureOutput());
  }
  return program;
}

/** Entry of the `code-factory` CLI (cli/bin.js). Returns the process exit code; never throws. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const ctx: CliContext = { io, exitCode: 0 };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp({ error: true });
    return USAGE_ERROR;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // `config` alone shows its help as an error; treat like any other usage error.
      return error.exitCode === 0 ? 0 : USAGE_ERROR;
    }
    io.stderr(`code-factory: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
