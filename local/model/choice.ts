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
