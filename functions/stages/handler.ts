import { env } from '../shared/config';
import { createStageHandler } from './app';
import { stageDeps } from './wiring';

// Module scope: clients are built once per container.
export const handler = createStageHandler(stageDeps(env()));
