import { env } from '../shared/config';
import { withEventMiddleware } from '../shared/middleware';
import { createLlmWorkerHandler } from './app';
import { llmWorkerPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = withEventMiddleware(createLlmWorkerHandler(llmWorkerPorts(env())));
