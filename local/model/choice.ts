import type { Command } from 'commander';
import { PROVIDERS, type Provider } from '../../functions/shared/domain/providers';
import { anthropicFromEnv, type StackOptions } from '../stack';
import { loadModelScript } from './script-file';
import { type Scenario, scenarioList, scenarioNamed } from './scenarios';

/**
 * `--scenario NAME|list` and `--model-script FILE`, as `npm start` and `npm run demo` take them:
 * the scenario the model stand-in plays, or what to print and the exit code (the list: 0; a
 * usage error: 2).
 */
export async function modelChoice(
  options: { scenario?: string; modelScript?: string; provider?: string },
  environment: Record<string, string | undefined>,
): Promise<{ scenario?: Scenario } | { exit: number; text: string }> {
  if (options.scenario === 'list') return { exit: 0, text: scenarioList() };
  if (options.scenario === undefined && options.modelScript === undefined) return {};
  if (options.scenario !== undefined && options.modelScript !== undefined)
    return { exit: 2, text: '--scenario and --model-script are alternatives: give one of them' };
  // The variable that makes the chosen provider a real model instead of the stand-in.
  const provider = options.provider ?? 'anthropic';
  const real =
    provider === 'anthropic' && environment.ANTHROPIC_API_KEY
      ? 'ANTHROPIC_API_KEY'
      : provider === 'openai-compatible' && environment.OPENAI_BASE_URL
        ? 'OPENAI_BASE_URL'
        : undefined;
  if (real)
    return {
      exit: 2,
      text: `${options.scenario !== undefined ? '--scenario' : '--model-script'} is played by the local model stand-in, but ${real} is set: unset it to use the stand-in`,
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

export type ProviderStackOptions = Pick<
  StackOptions,
  | 'provider'
  | 'modelName'
  | 'openaiBaseUrl'
  | 'openaiApiKey'
  | 'anthropicApiKey'
  | 'anthropicBaseUrl'
  | 'modelConfig'
>;

const httpUrl = (name: string, value: string): string => {
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol))
    throw new Error(`${name} must be an http(s) URL, not ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
};

/**
 * `--provider` and `--model` as stack options, and whether a real model answers (else the
 * stand-in, in that provider's wire format). anthropic: ANTHROPIC_API_KEY (and
 * ANTHROPIC_BASE_URL) make it real; openai-compatible: OPENAI_BASE_URL (with its `/v1`) and
 * OPENAI_API_KEY do, every call going there, priced 0 unless MODEL_CONFIG prices the model;
 * bedrock: always the stand-in locally. Throws a usage error's text.
 */
export function providerOptions(
  options: { provider?: string; model?: string },
  environment: Record<string, string | undefined>,
): { stack: ProviderStackOptions; real: boolean } {
  const provider = (options.provider ?? 'anthropic') as Provider;
  if (!PROVIDERS.includes(provider))
    throw new Error(
      `--provider must be one of ${PROVIDERS.join(', ')}, not ${JSON.stringify(options.provider)}`,
    );
  const modelName = options.model;
  if (modelName !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/.test(modelName))
    throw new Error(`--model must be a model id, not ${JSON.stringify(modelName)}`);
  const named = modelName ? { modelName } : {};
  if (provider === 'bedrock') return { stack: { provider, ...named }, real: false };
  if (provider === 'openai-compatible') {
    const baseUrl = environment.OPENAI_BASE_URL;
    if (!baseUrl) return { stack: { provider, ...named }, real: false };
    const apiKey = environment.OPENAI_API_KEY;
    return {
      stack: {
        provider,
        ...named,
        openaiBaseUrl: httpUrl('OPENAI_BASE_URL', baseUrl),
        ...(apiKey ? { openaiApiKey: apiKey } : {}),
      },
      real: true,
    };
  }
  const anthropic = anthropicFromEnv(environment as NodeJS.ProcessEnv);
  const lists = modelName
    ? {
        modelConfig: JSON.stringify({
          aliases: { planner: [modelName], coder: [modelName], reviewer: [modelName], fast: [modelName] },
        }),
      }
    : {};
  return { stack: { provider, ...anthropic, ...lists }, real: anthropic.anthropicApiKey !== undefined };
}

/** providerOptions, or its usage error printed and the process ended with exit code 2. */
export function providerOptionsOrExit(
  options: { provider?: string; model?: string },
  environment: Record<string, string | undefined>,
): { stack: ProviderStackOptions; real: boolean } {
  try {
    return providerOptions(options, environment);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
}

/** The model and sandbox options `npm start` and `npm run demo` share. */
export const withModelOptions = (command: Command): Command =>
  command
    .option('--provider <name>', `where model calls go: ${PROVIDERS.join(', ')}`, 'anthropic')
    .option(
      '--model <name>',
      "the provider's model id for every alias (openai-compatible: priced 0 unless configured)",
    )
    .option('--scenario <name>', 'the model stand-in plays this scenario (`list` prints them)')
    .option('--model-script <file>', 'the model stand-in plays this JSON file of assistant turns per stage')
    .option(
      '--unsafe-sandbox',
      "without bubblewrap, run a real model's commands anyway, unisolated (they could read this machine's files)",
      false,
    );

/** modelChoice, or its text printed and the process ended with its exit code. */
export async function modelChoiceOrExit(
  options: { scenario?: string; modelScript?: string; provider?: string },
  environment: Record<string, string | undefined>,
): Promise<{ scenario?: Scenario }> {
  const choice = await modelChoice(options, environment);
  if (!('exit' in choice)) return choice;
  (choice.exit === 0 ? process.stdout : process.stderr).write(`${choice.text}\n`);
  process.exit(choice.exit);
}
