import { createSandboxHandler } from './app';
import { sandboxPorts } from './wiring';

export const handler = createSandboxHandler(sandboxPorts());
