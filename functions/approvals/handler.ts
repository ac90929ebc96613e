import { env } from '../shared/config';
import { createApprovalsHandler } from './app';
import { approvalsPorts } from './wiring';

// Module scope: clients are built once per container.
export const handler = createApprovalsHandler(approvalsPorts(env()));
