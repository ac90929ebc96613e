import { WRITERS } from '../shared/domain/permission';
import { HELP_TEXT } from './commands';
import { courtesyComment } from './comment';
import type { WebhookContext } from './context';
import { claim, type Delivery, ignored, type Outcome } from './deliveries';
import { permissionOf } from './permissions';
import { type Intent, isBotSender } from './triggers';

/** `/factory <unknown>` or a bare `/factory`: recorded IGNORED, and a writer gets the help text. */
export function answerUnknownCommand(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'unknown-command' }>,
): Promise<Outcome> {
  const said = intent.word ? `\`/factory ${intent.word}\` is not a command I know.` : 'Which command?';
  return answerWithHelp(ctx, delivery, intent, said, `unknown command ${intent.word || '(none)'}`);
}

/** `/factory help`, on an issue or a pull request: a writer gets the help text. */
export function answerHelp(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'command' }>,
): Promise<Outcome> {
  return answerWithHelp(ctx, delivery, intent, 'Here is what I can do.', 'help asked');
}

async function answerWithHelp(
  ctx: WebhookContext,
  delivery: Delivery,
  intent: Extract<Intent, { type: 'unknown-command' | 'command' }>,
  said: string,
  reason: string,
): Promise<Outcome> {
  if (isBotSender(intent.sender, ctx.config.factoryLogin)) return ignored('comment by a bot');
  const claimed = await claim(ctx, delivery, { state: 'IGNORED', reason });
  if (!claimed.owned) return claimed.outcome;
  // Only people who may steer runs get an answer: anyone else could make the bot comment at will.
  const permission = await permissionOf(ctx, intent.repo, intent.sender.login);
  if (!WRITERS.has(permission)) {
    const refusal = `${reason} from @${intent.sender.login} (${permission} permission): not answered`;
    if (claimed.record.state === 'RECORDED')
      await ctx.store.updateDelivery(delivery.id, { state: 'IGNORED', reason: refusal });
    return { status: 200, data: { status: 'ignored', reason: refusal } };
  }
  await courtesyComment(
    ctx,
    intent.repo,
    intent.issueNumber,
    `@${intent.sender.login} ${said}\n\n${HELP_TEXT}`,
  );
  if (claimed.record.state === 'RECORDED')
    await ctx.store.updateDelivery(delivery.id, { state: 'IGNORED', reason });
  return { status: 200, data: { status: 'ignored', reason } };
}
