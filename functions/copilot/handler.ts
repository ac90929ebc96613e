import { env } from '../shared/config';
import { createCopilotHandler } from './app';
import { copilotPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createCopilotHandler(copilotPorts(env()));
