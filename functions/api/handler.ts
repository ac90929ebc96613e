import { env } from '../shared/config';
import { createApiHandler } from './app';
import { apiPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createApiHandler(apiPorts(env()));
