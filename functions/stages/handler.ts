import { env } from '../shared/config';
import { withEventMiddleware } from '../shared/middleware';
import { createStageHandler } from './app';
import { stageDeps } from './wiring';

// Module scope: clients are built once per container.
export const handler = withEventMiddleware(createStageHandler(stageDeps(env())));
