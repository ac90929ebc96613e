import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { modelChoiceOrExit, withModelOptions } from '../model/choice';
import { reportJson, reportTable, runEval } from './run';
import { loadTasks } from './tasks';

/**
 * `npm run eval -- [--tasks DIR] [--json] [--scenario NAME | --model-script FILE] [--unsafe-sandbox]`
 * Runs the evaluation tasks (eval/tasks by default) on the embedded stack with the configured
 * model: the scripted stand-in playing each task's model-script.json, or a real model with
 * ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL). Prints a table; with --json, progress goes to stderr
 * and the last line of stdout is one JSON object `{"tasks":[{id,status,resolved,costUsd,turns,ms}],
 * "resolvedRate"}`. Exits 0 when every task ran (resolved or not), 1 on an error.
 */

const DEFAULT_TASKS = fileURLToPath(new URL('../../eval/tasks', import.meta.url));

const program = new Command()
  .name('eval')
  .description('Runs evaluation tasks on the embedded stack and reports resolved rate, cost, turns and time.')
  .option('--tasks <dir>', 'the folder of task folders', DEFAULT_TASKS)
  .option('--json', 'print only the result JSON on stdout (progress on stderr)', false);
withModelOptions(program).parse();
const opts = program.opts<{
  tasks: string;
  json: boolean;
  scenario?: string;
  modelScript?: string;
  unsafeSandbox: boolean;
}>();
const choice = await modelChoiceOrExit(opts, process.env);
const say = (line: string) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);

try {
  const report = await runEval({
    tasks: await loadTasks(opts.tasks),
    ...(choice.scenario ? { scenario: choice.scenario } : {}),
    unsafeSandbox: opts.unsafeSandbox,
    say,
  });
  say(reportTable(report));
  if (opts.json) process.stdout.write(`${reportJson(report)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`eval failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
