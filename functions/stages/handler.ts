import { env } from '../shared/config';
import { createStageHandler } from './app';
import { stagePorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createStageHandler(stagePorts(env()));
