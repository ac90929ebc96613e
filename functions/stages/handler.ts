import { env } from '../shared/config';
import { withEventMiddleware } from '../shared/middleware';
import { createStageHandler } from './app';
import { stagePorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = withEventMiddleware(createStageHandler(stagePorts(env())));
