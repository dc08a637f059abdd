import { describe, expect, it } from 'vitest';
import { planStages, Rollout } from './rollout-plan.js';

const fleet = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `d${String(i).padStart(2, '0')}`);

describe('planStages', () => {
  it('canary first, then waves of the rest, the last taking what remains', () => {
    const stages = planStages(fleet(21), {
      canary: 1,
      waves: [25, 50, 100],
      maxFailuresPerStage: 0,
      successRatio: 1,
    });
    expect(stages.map((s) => s.length)).toEqual([1, 5, 5, 10]);
    expect(stages.flat()).toEqual(fleet(21));
    expect(
      planStages(fleet(1), { canary: 3, waves: [50], maxFailuresPerStage: 0, successRatio: 1 }),
    ).toEqual([['d00']]);
    expect(
      planStages([], { canary: 1, waves: [100], maxFailuresPerStage: 0, successRatio: 1 }),
    ).toEqual([]);
  });
});

describe('Rollout', () => {
  it('moves to the next stage only when the current one has applied', () => {
    const r = new Rollout(fleet(5), {
      canary: 1,
      waves: [50, 100],
      maxFailuresPerStage: 0,
      successRatio: 1,
    });
    expect(r.next()).toEqual({ action: 'push', stage: 0, devices: ['d00'] });
    expect(r.next()).toEqual({ action: 'wait' });
    r.record('d00', 'applied');
    expect(r.next()).toEqual({ action: 'push', stage: 1, devices: ['d01', 'd02'] });
    r.record('d01', 'applied');
    expect(r.next()).toEqual({ action: 'wait' });
    r.record('d02', 'applied');
    expect(r.next()).toMatchObject({ action: 'push', stage: 2, devices: ['d03', 'd04'] });
    r.record('d03', 'applied');
    r.record('d04', 'applied');
    expect(r.next()).toMatchObject({ action: 'stop', status: 'completed' });
  });

  it('stops at the failure threshold: the canary error keeps the rest of the fleet on its version', () => {
    const r = new Rollout(fleet(10));
    r.next();
    r.record('d00', 'error');
    expect(r.next()).toMatchObject({
      action: 'stop',
      status: 'failed',
      reason: expect.stringMatching(/stage 0: 1 of 1 devices failed/),
    });
    expect(r.reached()).toEqual(['d00']);
    expect(r.next()).toMatchObject({ action: 'stop', status: 'failed' });
  });

  it('tolerates failures up to the threshold', () => {
    const r = new Rollout(fleet(6), {
      canary: 2,
      waves: [100],
      maxFailuresPerStage: 1,
      successRatio: 0.5,
    });
    r.next();
    r.record('d00', 'error');
    r.record('d01', 'applied');
    expect(r.next()).toMatchObject({ action: 'push', stage: 1 });
  });

  it('pauses, resumes and aborts', () => {
    const r = new Rollout(fleet(3));
    r.next();
    r.pause();
    r.record('d00', 'applied');
    expect(r.next()).toEqual({ action: 'wait' });
    r.resume();
    expect(r.next()).toMatchObject({ action: 'push', stage: 1 });
    r.abort();
    expect(r.next()).toMatchObject({ action: 'stop', status: 'aborted' });
    expect(r.reached()).toEqual(['d00', 'd01']); // canary and the first wave, not the last
    // Outcomes of devices outside the rollout are ignored.
    r.record('zz', 'error');
    expect(r.outcome('zz')).toBeUndefined();
  });
});
