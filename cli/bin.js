#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx code-factory` works straight from a clone.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
