import { describe, expect, it } from 'vitest';
import type { DeliveryRecord } from '../../../functions/shared/ports';
import { claim, recordRefusal, refuse } from '../../../functions/webhook/deliveries';
import { makeWebhookContext } from './helpers';

const delivery = { id: 'd-1', event: 'issues.labeled' };
const seconds = (ms: number) => Math.floor(ms / 1000);

describe('claim', () => {
  it('the first copy owns the delivery: RECORDED, its fields, kept for deliveryTtlSeconds', async () => {
    const { ctx, store, clock } = makeWebhookContext({ deliveryTtlSeconds: 3600 });
    const claimed = await claim(ctx, delivery, { runId: 'R1' });
    const record: DeliveryRecord = {
      deliveryId: 'd-1',
      event: 'issues.labeled',
      state: 'RECORDED',
      receivedAt: new Date(clock.now()).toISOString(),
      runId: 'R1',
    };
    expect(claimed).toEqual({ owned: true, record });
    expect(store.deliveries.get('d-1')).toEqual({ record, expiresAt: seconds(clock.now()) + 3600 });
    expect(store.writes).toEqual(['recordDelivery']);
  });

  it.each([
    ['STARTED', { runId: 'R1' }],
    ['RESUMED', { runId: 'R1' }],
    // A refused or ignored delivery never made the run its claim reserved.
    ['REFUSED', {}],
    ['IGNORED', {}],
  ] as const)('a copy of a %s delivery gets the stored answer and owns nothing', async (state, runId) => {
    const { ctx, store } = makeWebhookContext();
    await claim(ctx, delivery, { runId: 'R1' });
    await store.updateDelivery('d-1', { state });
    const copy = await claim(ctx, delivery, { runId: 'R2' });
    expect(copy).toEqual({
      owned: false,
      outcome: { status: 200, data: { status: 'duplicate', state, ...runId } },
    });
    expect(store.delivery('d-1')).toMatchObject({ state, runId: 'R1' });
  });

  it('a copy within inFlightMs of a RECORDED one answers 202 in_progress; after it, it takes over', async () => {
    const { ctx, clock } = makeWebhookContext({ inFlightMs: 5_000 });
    const first = await claim(ctx, delivery, { runId: 'R1' });
    clock.advance(4_999);
    expect(await claim(ctx, delivery, { runId: 'R2' })).toEqual({
      owned: false,
      outcome: { status: 202, data: { status: 'in_progress', runId: 'R1' } },
    });
    clock.advance(1);
    // The crashed copy's record, with its run id: the run started again is the same run.
    expect(await claim(ctx, delivery, { runId: 'R3' })).toEqual({
      owned: true,
      record: first.owned ? first.record : undefined,
    });
  });

  it('a RECORDED copy whose receivedAt cannot be read is taken over, not waited on forever', async () => {
    const { ctx, store } = makeWebhookContext();
    await store.recordDelivery(
      { deliveryId: 'd-1', event: 'issues.labeled', state: 'RECORDED', receivedAt: 'garbled' },
      3600,
    );
    const claimed = await claim(ctx, delivery, {});
    expect(claimed.owned).toBe(true);
  });

  it('a conflict whose record is gone (expired between the writes) is a plain duplicate', async () => {
    const { ctx, store } = makeWebhookContext();
    store.recordDelivery = async () => ({ first: false });
    expect(await claim(ctx, delivery, { runId: 'R1' })).toEqual({
      owned: false,
      outcome: { status: 200, data: { status: 'duplicate' } },
    });
  });
});

describe('refusals', () => {
  it('refuse marks a claimed delivery REFUSED and answers 200 with the reason and extras', async () => {
    const { ctx, store } = makeWebhookContext();
    await claim(ctx, delivery, { runId: 'R1' });
    const outcome = await refuse(ctx, delivery, 'run R0 is still QUEUED', { activeRunId: 'R0' });
    expect(outcome).toEqual({
      status: 200,
      data: { status: 'refused', reason: 'run R0 is still QUEUED', activeRunId: 'R0' },
    });
    expect(store.delivery('d-1')).toMatchObject({ state: 'REFUSED', reason: 'run R0 is still QUEUED' });
  });

  it('recordRefusal of a new delivery is one conditional write that stores REFUSED', async () => {
    const { ctx, store } = makeWebhookContext();
    const outcome = await recordRefusal(ctx, delivery, 'sender dependabot[bot] is a bot');
    expect(outcome).toEqual({
      status: 200,
      data: { status: 'refused', reason: 'sender dependabot[bot] is a bot' },
    });
    expect(store.writes).toEqual(['recordDelivery']);
    expect(store.delivery('d-1')).toMatchObject({
      state: 'REFUSED',
      reason: 'sender dependabot[bot] is a bot',
    });
  });

  it('recordRefusal that takes over a stale RECORDED copy updates it to REFUSED', async () => {
    const { ctx, store, clock } = makeWebhookContext();
    await claim(ctx, delivery, { runId: 'R1' });
    clock.advance(60_000);
    const outcome = await recordRefusal(ctx, delivery, 'a bot');
    expect(outcome.data).toEqual({ status: 'refused', reason: 'a bot' });
    expect(store.writes).toEqual(['recordDelivery', 'recordDelivery', 'updateDelivery']);
    expect(store.delivery('d-1')).toMatchObject({ state: 'REFUSED', reason: 'a bot' });
  });

  it('recordRefusal of a delivery already answered returns that answer and writes nothing more', async () => {
    const { ctx, store } = makeWebhookContext();
    await claim(ctx, delivery, { runId: 'R1' });
    await store.updateDelivery('d-1', { state: 'STARTED' });
    const outcome = await recordRefusal(ctx, delivery, 'a bot');
    expect(outcome).toEqual({ status: 200, data: { status: 'duplicate', state: 'STARTED', runId: 'R1' } });
    expect(store.delivery('d-1')?.state).toBe('STARTED');
  });
});
