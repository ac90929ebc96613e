import './quiet';
import { Command } from 'commander';
import { modelChoiceOrExit, providerOptionsOrExit, withModelOptions } from './model/choice';
import { SandboxRegistries } from '../functions/shared/domain/registries';
import { whenLauncherGone } from './launcher-watch';
import { startStack } from './stack';

/**
 * `npm start -- [--port N] [--data-dir DIR] [--scenario NAME|list] [--model-script FILE]
 * [--provider anthropic|bedrock|openai-compatible] [--model NAME] [--unsafe-sandbox]
 * [--sandbox-registries JSON]`: runs the embedded stack until interrupted and prints one JSON line once
 * everything listens (SPEC §7). The model stand-in plays the scenario (`sample` by default) or the
 * model script for every run. Data in --data-dir survives restarts; executions interrupted by a
 * restart end FAILED with cause LocalEngineRestarted.
 */
const program = new Command()
  .name('start')
  .description('Runs Code Factory on this machine: AWS, GitHub and the model emulated on 127.0.0.1.')
  .option('--port <n>', 'port of the HTTP gateway (webhooks, REST API, approvals)', '0')
  .option('--data-dir <dir>', 'where runs, repositories and secrets are kept', '.data')
  .option(
    '--sandbox-registries <json>',
    'private registries for environment.setup: [{"host","secretId","env","login"?}], each token a secret of the local secrets store (docs/deploy.md)',
  );
withModelOptions(program).parse();
const opts = program.opts<{
  port: string;
  dataDir: string;
  scenario?: string;
  modelScript?: string;
  provider?: string;
  model?: string;
  unsafeSandbox: boolean;
  sandboxRegistries?: string;
}>();
const choice = await modelChoiceOrExit(opts, process.env);
const port = Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`--port must be an integer from 0 to 65535, not ${opts.port}\n`);
  process.exit(2);
}

const models = providerOptionsOrExit(opts, process.env);
const registries = SandboxRegistries.safeParse(
  (() => {
    try {
      return JSON.parse(opts.sandboxRegistries ?? '[]');
    } catch {
      return undefined;
    }
  })(),
);
if (!registries.success) {
  process.stderr.write(
    '--sandbox-registries must be a JSON list like [{"host":"npm.pkg.github.com","secretId":"registry/npm","env":"NPM_TOKEN"}]\n',
  );
  process.exit(2);
}

const stack = await startStack({
  port,
  dataDir: opts.dataDir,
  ...(process.env.FACTORY_WEBHOOK_SECRET ? { webhookSecret: process.env.FACTORY_WEBHOOK_SECRET } : {}),
  ...models.stack,
  ...(choice.scenario ? { modelScript: choice.scenario.script } : {}),
  unsafeSandbox: opts.unsafeSandbox,
  sandboxRegistries: registries.data,
  log: (line) => process.stderr.write(`${line}\n`),
});

process.stdout.write(
  `${JSON.stringify({
    event: 'ready',
    url: stack.url,
    webhookUrl: stack.webhookUrl,
    consoleUrl: stack.consoleUrl,
    forgeUrl: stack.forgeUrl,
    mailUrl: stack.mailUrl,
    apiKey: stack.apiKey,
    endpoints: stack.endpoints,
  })}\n`,
);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: stopping the embedded stack…\n`);
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
// Only under npm: a stack started some other way may outlive the shell that started it, by design.
if (process.env.npm_lifecycle_event === 'start') whenLauncherGone(() => void stop('npm start ended'));
