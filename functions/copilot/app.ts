import * as z from 'zod';
import { withEventMiddleware } from '../shared/middleware';
import { askTools, failAsk, startAsk } from './loop';
import type { CopilotPorts } from './ports';

export type { CopilotPorts } from './ports';

/** The event of statemachines/ask.ts's tasks: `step` picks the step of the ask's loop. */
export const CopilotEvent = z.object({
  step: z.enum(['start', 'tools', 'fail']),
  askId: z.string().regex(/^[0-9A-HJKMNP-TV-Z]{26}$/),
  conversationId: z.string().min(1).max(80).optional(),
  turn: z.number().int().min(1).max(200).optional(),
  error: z.unknown().optional(),
});

/** The copilot function: the ask state machine's steps (functions/copilot/loop.ts). */
export function createCopilotHandler(ports: CopilotPorts) {
  return withEventMiddleware(async (raw: unknown): Promise<unknown> => {
    const event = CopilotEvent.parse(raw);
    switch (event.step) {
      case 'start':
        return startAsk(ports, event.askId);
      case 'tools':
        if (!event.conversationId || !event.turn) throw new Error('tools needs conversationId and turn');
        return askTools(ports, event.askId, event.conversationId, event.turn);
      case 'fail':
        return failAsk(
          ports,
          event.askId,
          (event.error ?? null) as { Error?: string; Cause?: string } | null,
        );
    }
  });
}
