import { env } from '../shared/config';
import { createLlmDlqHandler } from './app';
import { llmDlqDeps } from './wiring';

// Module scope: clients are built once per container.
export const handler = createLlmDlqHandler(llmDlqDeps(env()));
