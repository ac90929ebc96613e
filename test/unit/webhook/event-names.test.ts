import { describe, expect, it } from 'vitest';
import { makeWebhook, signedEvent } from './helpers';

/** GitHub's event names include digits (`projects_v2_item`): answered 2xx and ignored, not 400. */
describe('event names', () => {
  it.each(['projects_v2_item', 'projects_v2', 'security_and_analysis'])(
    '%s is answered 2xx and ignored',
    async (name) => {
      const { invoke } = makeWebhook();
      const response = await invoke(
        await signedEvent(name, { action: 'edited', projects_v2_item: { id: 1 } }),
      );
      expect(response.statusCode).toBeGreaterThanOrEqual(200);
      expect(response.statusCode).toBeLessThan(300);
    },
  );

  it.each(['Issues', '2issues', 'issues.labeled', 'a'.repeat(61)])(
    '%s is refused as malformed',
    async (name) => {
      const { invoke } = makeWebhook();
      expect((await invoke(await signedEvent(name, { action: 'opened' }))).statusCode).toBe(400);
    },
  );
});
