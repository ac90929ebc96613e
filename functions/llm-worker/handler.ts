import { env } from '../shared/config';
import { createLlmWorkerHandler } from './app';
import { llmWorkerPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createLlmWorkerHandler(llmWorkerPorts(env()));
