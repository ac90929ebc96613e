import type { Command } from 'commander';
import { loadModelScript } from './script-file';
import { type Scenario, scenarioList, scenarioNamed } from './scenarios';

/**
 * `--scenario NAME|list` and `--model-script FILE`, as `npm start` and `npm run demo` take them:
 * the scenario the model stand-in plays, or what to print and the exit code (the list: 0; a
 * usage error: 2).
 */
export async function modelChoice(
  options: { scenario?: string; modelScript?: string },
  environment: Record<string, string | undefined>,
): Promise<{ scenario?: Scenario } | { exit: number; text: string }> {
  if (options.scenario === 'list') return { exit: 0, text: scenarioList() };
  if (options.scenario === undefined && options.modelScript === undefined) return {};
  if (options.scenario !== undefined && options.modelScript !== undefined)
    return { exit: 2, text: '--scenario and --model-script are alternatives: give one of them' };
  if (environment.ANTHROPIC_API_KEY)
    return {
      exit: 2,
      text: `${options.scenario !== undefined ? '--scenario' : '--model-script'} is played by the local model stand-in, but ANTHROPIC_API_KEY is set: unset it to use the stand-in`,
    };
  if (options.modelScript !== undefined) {
    try {
      return { scenario: await loadModelScript(options.modelScript) };
    } catch (error) {
      return { exit: 2, text: (error as Error).message };
    }
  }
  const scenario = scenarioNamed(options.scenario ?? '');
  if (!scenario)
    return {
      exit: 2,
      text: `no scenario named ${JSON.stringify(options.scenario)}; the scenarios are:\n${scenarioList()}`,
    };
  return { scenario };
}

/** The model and sandbox options `npm start` and `npm run demo` share. */
export const withModelOptions = (command: Command): Command =>
  command
    .option('--scenario <name>', 'the model stand-in plays this scenario (`list` prints them)')
    .option('--model-script <file>', 'the model stand-in plays this JSON file of assistant turns per stage')
    .option(
      '--unsafe-sandbox',
      "without bubblewrap, run a real model's commands anyway, unisolated (they could read this machine's files)",
      false,
    );

/** modelChoice, or its text printed and the process ended with its exit code. */
export async function modelChoiceOrExit(
  options: { scenario?: string; modelScript?: string },
  environment: Record<string, string | undefined>,
): Promise<{ scenario?: Scenario }> {
  const choice = await modelChoice(options, environment);
  if (!('exit' in choice)) return choice;
  (choice.exit === 0 ? process.stdout : process.stderr).write(`${choice.text}\n`);
  process.exit(choice.exit);
}
