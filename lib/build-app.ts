import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { factoryConfigOf } from './config';
import { FactoryStack } from './factory-stack';

export const STACK_NAME = 'CodeFactory';

export interface BuildAppOptions extends AppProps {
  /** Where factory.config.json is looked for; the working directory by default. */
  cwd?: string;
}

/**
 * The CDK app: configuration validated from context (throws FactoryConfigError), the stack, and
 * cdk-nag's AwsSolutions pack as a CDK policy-validation plugin, so `cdk synth` fails on any
 * unacknowledged error finding. Environment-agnostic: synth needs no AWS credentials.
 */
export function buildApp({ cwd, ...appProps }: BuildAppOptions = {}) {
  const app = new App(appProps);
  const config = factoryConfigOf(app, cwd);
  const stack = new FactoryStack(app, STACK_NAME, { config });
  Tags.of(app).add('application', 'code-factory');
  const nag = new AwsSolutionsChecks(app);
  Validations.of(app).addPlugins(nag);
  return { app, stack, config, nag };
}
