import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SesMailer } from '../../../functions/shared/adapters/mailer';
import type { MailMessage } from '../../../functions/shared/ports';

const sesMock = mockClient(SESv2Client);
const message: MailMessage = {
  from: 'factory@example.com',
  to: ['alice@example.com', 'carol@example.com'],
  subject: 'Approval needed: acme/widgets #1 — “add sum()”',
  html: '<p>Review <a href="https://example.com/approvals/x?t=y">here</a></p>',
  text: 'Review here: https://example.com/approvals/x?t=y',
};

beforeEach(() => {
  sesMock.reset();
  sesMock.on(SendEmailCommand).resolves({ MessageId: '0100-abc' });
});

describe('SesMailer', () => {
  it('sends Simple content with UTF-8 subject, HTML and text parts', async () => {
    const result = await new SesMailer(new SESv2Client({ region: 'us-east-1' })).send(message);
    expect(result).toEqual({ messageId: '0100-abc' });
    const calls = sesMock.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      FromEmailAddress: 'factory@example.com',
      Destination: { ToAddresses: ['alice@example.com', 'carol@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: message.subject, Charset: 'UTF-8' },
          Body: {
            Html: { Data: message.html, Charset: 'UTF-8' },
            Text: { Data: message.text, Charset: 'UTF-8' },
          },
        },
      },
    });
  });

  it('names the configuration set when one is configured', async () => {
    await new SesMailer(new SESv2Client({ region: 'us-east-1' }), { configurationSetName: 'factory' }).send(
      message,
    );
    expect(sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input.ConfigurationSetName).toBe('factory');
  });

  it('refuses a message with no recipient without calling SES', async () => {
    await expect(
      new SesMailer(new SESv2Client({ region: 'us-east-1' })).send({ ...message, to: [] }),
    ).rejects.toThrow(RangeError);
    expect(sesMock.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('fails when SES returns no MessageId, and passes SES errors through', async () => {
    const mailer = new SesMailer(new SESv2Client({ region: 'us-east-1' }));
    sesMock.on(SendEmailCommand).resolves({});
    await expect(mailer.send(message)).rejects.toThrow(/no MessageId/);
    sesMock
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('not verified'), { name: 'MessageRejected' }));
    await expect(mailer.send(message)).rejects.toMatchObject({ name: 'MessageRejected' });
  });
});
