import { FactoryConfigError } from './config';
import { MissingHandlerError } from './constructs/functions';
import { buildApp } from './build-app';

// Entry point of `npx cdk synth|deploy` (cdk.json). A configuration problem prints its list of
// settings to fix (a missing handler file its path), without a stack trace, and fails the command.
try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof FactoryConfigError || error instanceof MissingHandlerError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
