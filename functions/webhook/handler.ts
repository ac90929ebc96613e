import { env } from '../shared/config';
import { createWebhookHandler } from './app';
import { webhookPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createWebhookHandler(webhookPorts(env()));
