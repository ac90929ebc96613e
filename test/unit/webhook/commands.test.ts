import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../../functions/webhook/commands';
import { classify, isBotSender } from '../../../functions/webhook/triggers';

describe('parseCommand', () => {
  const cases: Array<[string, ReturnType<typeof parseCommand>]> = [
    ['/factory run', { kind: 'command', name: 'run', args: '' }],
    ['  /FACTORY   Review  ', { kind: 'command', name: 'review', args: '' }],
    ['Thanks!\n\n/factory rescue please', { kind: 'command', name: 'rescue', args: 'please' }],
    ['@code-factory /factory cancel', { kind: 'command', name: 'cancel', args: '' }],
    ['@code-factory[bot]: /factory retry', { kind: 'command', name: 'retry', args: '' }],
    ['/factory\r\nmore', { kind: 'unknown', word: '', text: 'more' }],
    ['/factory deploy', { kind: 'unknown', word: 'deploy', text: 'deploy' }],
    [
      'Nice.\n/factory also handle empty strings\nand null',
      { kind: 'unknown', word: 'also', text: 'also handle empty strings\nand null' },
    ],
    ['/factory run\n/factory cancel', { kind: 'command', name: 'run', args: '' }],
    ['please /factory run', undefined],
    ['> /factory run', undefined],
    ['```\n/factory run\n```\nno command here', undefined],
    ['~~~\n/factory run\n~~~\n/factory cancel', { kind: 'command', name: 'cancel', args: '' }],
    ['/factoryrun', undefined],
    ['nothing to see', undefined],
    ['', undefined],
  ];
  for (const [body, expected] of cases) {
    it(`parses ${JSON.stringify(body)}`, () => {
      expect(parseCommand(body)).toEqual(expected);
    });
  }

  it('stays bounded on a huge comment', () => {
    const body = `${'line\n'.repeat(100_000)}/factory run`;
    expect(parseCommand(body)).toBeUndefined();
  });
});

describe('classify and isBotSender', () => {
  it('recognises bots by type, [bot] suffix and the factory login', () => {
    expect(isBotSender({ login: 'dependabot[bot]', type: 'Bot' }, 'code-factory[bot]')).toBe(true);
    expect(isBotSender({ login: 'x[bot]', type: 'User' }, 'code-factory[bot]')).toBe(true);
    expect(isBotSender({ login: 'Code-Factory', type: 'User' }, 'code-factory[bot]')).toBe(true);
    expect(isBotSender({ login: 'alice', type: 'User' }, 'code-factory[bot]')).toBe(false);
  });

  it('classifies the events it handles and ignores the rest', () => {
    expect(classify('ping', {}).type).toBe('ping');
    expect(classify('issues', { action: 'opened' }).type).toBe('ignore');
    expect(classify('check_run', { action: 'completed' }).type).toBe('ignore');
    expect(classify('issues', 'not an object').type).toBe('ignore');
    const checks = classify('workflow_run', {
      action: 'completed',
      workflow_run: { head_sha: 'abc', conclusion: 'success' },
      repository: { full_name: 'acme/widgets' },
    });
    expect(checks).toMatchObject({
      type: 'checks-completed',
      repo: 'acme/widgets',
      sha: 'abc',
      conclusion: 'success',
    });
  });
});
