import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import type { MailMessage, Mailer } from '../ports';

const CHARSET = 'UTF-8';

/**
 * The Mailer port over SES v2 SendEmail: Simple content with an HTML part and a plain-text part
 * (clients that do not render HTML, and spam filters, want both), everything UTF-8.
 */
export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESv2Client,
    private readonly options: { configurationSetName?: string } = {},
  ) {}

  async send(message: MailMessage): Promise<{ messageId: string }> {
    if (message.to.length === 0) throw new RangeError('an email needs at least one recipient');
    const output = await this.client.send(
      new SendEmailCommand({
        FromEmailAddress: message.from,
        Destination: { ToAddresses: message.to },
        Content: {
          Simple: {
            Subject: { Data: message.subject, Charset: CHARSET },
            Body: {
              Html: { Data: message.html, Charset: CHARSET },
              Text: { Data: message.text, Charset: CHARSET },
            },
          },
        },
        ...(this.options.configurationSetName
          ? { ConfigurationSetName: this.options.configurationSetName }
          : {}),
      }),
    );
    if (!output.MessageId) throw new Error('SES SendEmail returned no MessageId');
    return { messageId: output.MessageId };
  }
}
