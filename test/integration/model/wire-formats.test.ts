import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BedrockLlm } from '../../../functions/shared/adapters/bedrock';
import { LlmError } from '../../../functions/shared/errors';
import type { LlmRequest } from '../../../functions/shared/ports';
import { FAKE_CREDENTIALS } from '../../../local/emulators/dynamodb';
import { type ModelServer, startModel } from '../../../local/model/server';
import { AnthropicBedrock } from '@anthropic-ai/bedrock-sdk';

/** The stand-in's Bedrock and OpenAI wire formats are no friendlier than the real services. */

const request: LlmRequest = {
  model: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
  system: 'You are terse.',
  tools: [],
  messages: [{ role: 'user', content: 'Say hello.' }],
  maxTokens: 256,
};

let model: ModelServer;
beforeAll(async () => {
  model = await startModel({ awsCredentials: FAKE_CREDENTIALS });
});
afterAll(async () => model.close());

const bedrock = (secretAccessKey: string) =>
  new BedrockLlm({
    client: new AnthropicBedrock({
      baseURL: model.url,
      awsRegion: 'us-east-1',
      awsAccessKey: FAKE_CREDENTIALS.accessKeyId,
      awsSecretKey: secretAccessKey,
      apiKey: null,
      defaultHeaders: { 'anthropic-version': 'bedrock-2023-05-31' },
      maxRetries: 0,
    }),
  });

describe('Bedrock InvokeModel', () => {
  it('answers a request signed with the stack credentials', async () => {
    const answer = await bedrock(FAKE_CREDENTIALS.secretAccessKey).createMessage(request);
    expect(answer.content.length).toBeGreaterThan(0);
    const call = model.calls().at(-1);
    expect(call).toMatchObject({ api: 'bedrock', signed: true, status: 200 });
  });

  it('refuses a request signed with another secret (InvalidSignatureException), and an unsigned one', async () => {
    const error = await bedrock('not-the-secret')
      .createMessage(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LlmError);
    expect((error as LlmError).kind).toBe('permanent');
    expect(model.calls().at(-1)).toMatchObject({ status: 403, errorType: 'signature_error' });
    const unsigned = await fetch(`${model.url}/model/${request.model}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 10, messages: [] }),
    });
    expect(unsigned.status).toBe(403);
  });

  it('throttles as Bedrock does: 429 ThrottlingException without retry-after', async () => {
    model.faults.push({ kind: '429', api: 'bedrock' });
    const error = await bedrock(FAKE_CREDENTIALS.secretAccessKey)
      .createMessage(request)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'rate_limited' });
    expect(model.calls().at(-1)).toMatchObject({ api: 'bedrock', status: 429, fault: '429' });
  });

  it('refuses a body with model or stream, or without the Bedrock anthropic_version', async () => {
    const client = new AnthropicBedrock({
      baseURL: model.url,
      awsRegion: 'us-east-1',
      awsAccessKey: FAKE_CREDENTIALS.accessKeyId,
      awsSecretKey: FAKE_CREDENTIALS.secretAccessKey,
      apiKey: null,
      maxRetries: 0,
    });
    // Without the Bedrock version header the SDK sends its own API version, which Bedrock refuses.
    await expect(
      client.messages.create({
        model: request.model,
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('OpenAI chat completions', () => {
  const openai = () => new OpenAI({ baseURL: `${model.url}/v1`, apiKey: 'k', maxRetries: 0 });

  it('refuses a request without a key, and a tool call left unanswered', async () => {
    const noKey = await fetch(`${model.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(noKey.status).toBe(401);
    await expect(
      openai().chat.completions.create({
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{}' } }],
          },
          { role: 'user', content: 'y' },
        ],
      }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('answers with choices, finish_reason and usage', async () => {
    const answer = await openai().chat.completions.create({
      model: 'm',
      max_tokens: 200,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hello.' },
      ],
    });
    expect(answer.object).toBe('chat.completion');
    expect(answer.choices[0]?.finish_reason).toMatch(/^(stop|length|tool_calls)$/);
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(0);
  });
});
