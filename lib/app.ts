import { FactoryConfigError } from './config';
import { buildApp } from './build-app';

// Entry point of `npx cdk synth|deploy` (cdk.json). A configuration problem prints its list of
// settings to fix, without a stack trace, and fails the command.
try {
  buildApp().app.synth();
} catch (error) {
  if (!(error instanceof FactoryConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
