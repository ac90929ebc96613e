import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SesMailer } from '../../../functions/shared/adapters/mailer';
import { FAKE_CREDENTIALS, LOCAL_REGION } from '../../../local/emulators/dynamodb';
import { readMailStore, type SesEmulator, startSes } from '../../../local/emulators/ses';

let ses: SesEmulator;
let client: SESv2Client;

beforeAll(async () => {
  ses = await startSes();
  client = new SESv2Client({ endpoint: ses.endpoint, region: LOCAL_REGION, credentials: FAKE_CREDENTIALS });
});

afterAll(async () => {
  client?.destroy();
  await ses?.close();
});

describe('local SES v2 (aws-ses-v2-local)', () => {
  it('listens on loopback', () => {
    expect(ses.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ses.mailUrl).toBe(ses.endpoint);
  });

  it('stores what SesMailer sends, with subject, HTML and text parts, readable at /store', async () => {
    const mailer = new SesMailer(client);
    const { messageId } = await mailer.send({
      from: 'factory@example.test',
      to: ['alice@example.test'],
      subject: 'Approve run 01J — widgets #1 ✓',
      html: '<p>Please <a href="http://127.0.0.1/approvals/abc?t=x">review</a> the change.</p>',
      text: 'Please review the change: http://127.0.0.1/approvals/abc?t=x',
    });
    expect(messageId).toMatch(/^ses-\d+$/);
    const store = await readMailStore(ses.mailUrl);
    const email = store.emails.find((candidate) => candidate.messageId === messageId);
    expect(email).toMatchObject({
      from: 'factory@example.test',
      destination: { to: ['alice@example.test'], cc: [], bcc: [] },
      subject: 'Approve run 01J — widgets #1 ✓',
      body: {
        html: '<p>Please <a href="http://127.0.0.1/approvals/abc?t=x">review</a> the change.</p>',
        text: 'Please review the change: http://127.0.0.1/approvals/abc?t=x',
      },
    });
    expect(email?.at).toBeGreaterThan(1_600_000_000);
  });

  it('answers SendEmail errors through the SDK (a send without From is a BadRequestException)', async () => {
    await expect(
      client.send(
        new SendEmailCommand({
          Destination: { ToAddresses: ['alice@example.test'] },
          Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } },
        }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  });
});
