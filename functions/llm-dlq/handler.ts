import { env } from '../shared/config';
import { createLlmDlqHandler } from './app';
import { llmDlqPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createLlmDlqHandler(llmDlqPorts(env()));
