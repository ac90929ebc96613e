import { env } from '../shared/config';
import { withEventMiddleware } from '../shared/middleware';
import { createLlmDlqHandler } from './app';
import { llmDlqPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = withEventMiddleware(createLlmDlqHandler(llmDlqPorts(env())));
