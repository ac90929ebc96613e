import { env } from '../shared/config';
import { withEventMiddleware } from '../shared/middleware';
import { createLlmDlqHandler } from './app';
import { llmDlqDeps } from './wiring';

// Module scope: clients are built once per container.
export const handler = withEventMiddleware(createLlmDlqHandler(llmDlqDeps(env())));
