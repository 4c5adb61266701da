import { describe, expect, it } from 'vitest';
import { LegState, LegStateMachine, TelephonyLeg, type HangupReason, type MediaPort } from '../../core/plugin-api.js';

const code = (f: () => void): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

const ALL = Object.values(LegState);
/** The diagram in core/plugins/leg-state.ts, written out independently. */
const LEGAL: Record<LegState, LegState[]> = {
  [LegState.Ringing]: [LegState.Answering, LegState.Ended],
  [LegState.Answering]: [LegState.Active, LegState.Ended],
  [LegState.Active]: [LegState.Transferring, LegState.Ending, LegState.Ended],
  [LegState.Transferring]: [LegState.Active, LegState.Ending, LegState.Ended],
  [LegState.Ending]: [LegState.Ended],
  [LegState.Ended]: [],
};
/** A path from Ringing to each state, through legal moves only. */
const PATH: Record<LegState, LegState[]> = {
  [LegState.Ringing]: [],
  [LegState.Answering]: [LegState.Answering],
  [LegState.Active]: [LegState.Answering, LegState.Active],
  [LegState.Transferring]: [LegState.Answering, LegState.Active, LegState.Transferring],
  [LegState.Ending]: [LegState.Answering, LegState.Active, LegState.Ending],
  [LegState.Ended]: [LegState.Ended],
};

function machineIn(state: LegState): LegStateMachine {
  const sm = new LegStateMachine('c1');
  for (const s of PATH[state]) sm.transition(s, 'setup');
  expect(sm.state).toBe(state);
  return sm;
}

describe('LegStateMachine: the one transition guard of every telephony leg', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      const legal = LEGAL[from].includes(to);
      it(`${from} → ${to} is ${legal ? 'allowed' : 'VB_ERR_CALL_STATE'}`, () => {
        const sm = machineIn(from);
        if (legal) {
          sm.transition(to, 'move');
          expect(sm.state).toBe(to);
        } else {
          expect(code(() => sm.transition(to, 'move'))).toBe('VB_ERR_CALL_STATE');
          expect(sm.state).toBe(from);
        }
      });
    }
  }

  it('answers once: a second answer is VB_ERR_CALL_ALREADY_ANSWERED, also after the call ended', () => {
    const sm = new LegStateMachine('c1');
    sm.beginAnswer();
    expect(sm.state).toBe(LegState.Answering);
    expect(code(() => sm.beginAnswer())).toBe('VB_ERR_CALL_ALREADY_ANSWERED');
    sm.transition(LegState.Active, 'answered');
    expect(code(() => sm.beginAnswer())).toBe('VB_ERR_CALL_ALREADY_ANSWERED');
    sm.transition(LegState.Ended, 'hangup');
    expect(code(() => sm.beginAnswer())).toBe('VB_ERR_CALL_ALREADY_ANSWERED');
    expect(sm.answered).toBe(true);
  });

  it('answering a call that ended while ringing is VB_ERR_CALL_STATE', () => {
    const sm = new LegStateMachine('c1');
    sm.transition(LegState.Ended, 'caller cancelled');
    expect(code(() => sm.beginAnswer())).toBe('VB_ERR_CALL_STATE');
    expect(sm.answered).toBe(false);
  });

  it('call control needs Active; media flows in Active and Transferring', () => {
    const sm = machineIn(LegState.Answering);
    expect(code(() => sm.assertActive('sendDtmf'))).toBe('VB_ERR_CALL_STATE');
    expect(sm.carriesMedia).toBe(false);
    sm.transition(LegState.Active, 'answered');
    sm.assertActive('sendDtmf');
    expect(sm.carriesMedia).toBe(true);
    sm.transition(LegState.Transferring, 'transfer');
    expect(sm.carriesMedia).toBe(true);
    expect(code(() => sm.assertActive('sendDtmf'))).toBe('VB_ERR_CALL_STATE');
  });
});

class TestLeg extends TelephonyLeg {
  readonly info = { id: 'c1', from: 'a', to: 'b', meta: {} };
  readonly media = {} as MediaPort;
  released: HangupReason[] = [];
  constructor() {
    super('c1');
  }
  answer(): void {
    this.sm.beginAnswer();
    this.sm.transition(LegState.Active, 'answer');
  }
  press(d: string): void {
    this.emitDtmf(d);
  }
  transferredElsewhere(): void {
    this.endAs('transferred');
  }
  protected release(reason: HangupReason): void {
    this.released.push(reason);
  }
  async sendDtmf(): Promise<void> {}
  async transfer(): Promise<void> {}
  async hangup(reason: HangupReason = 'bot-hangup'): Promise<void> {
    this.finish(reason, false);
  }
}

describe('TelephonyLeg: the base of every telephony leg', () => {
  it('finish() ends once: release and onEnded run a single time, later calls return false', async () => {
    const leg = new TestLeg();
    leg.answer();
    const ended: string[] = [];
    leg.onEnded((r) => ended.push(r));
    expect(leg.finish('caller-hangup')).toBe(true);
    expect(leg.finish('error')).toBe(false);
    await leg.hangup();
    expect(ended).toEqual(['caller-hangup']);
    expect(leg.released).toEqual(['caller-hangup']);
    expect(leg.state).toBe(LegState.Ended);
    expect(leg.endReason).toBe('caller-hangup');
    expect(await leg.whenEnded()).toBe('caller-hangup');
  });

  it("an ending the bot asked for does not call onEnded; a late listener hears only the far end's ending", () => {
    const own = new TestLeg();
    own.answer();
    const heard: string[] = [];
    own.onEnded((r) => heard.push(`own:${r}`));
    own.finish('bot-hangup', false);
    own.onEnded((r) => heard.push(`own-late:${r}`));
    const far = new TestLeg();
    far.answer();
    far.finish('caller-hangup', true);
    far.onEnded((r) => heard.push(`far-late:${r}`));
    expect(heard).toEqual(['far-late:caller-hangup']);
  });

  it('delivers DTMF only while Active, and not after the end', () => {
    const leg = new TestLeg();
    const digits: string[] = [];
    leg.onDtmf((d) => digits.push(d));
    leg.press('1');
    leg.answer();
    leg.press('2');
    leg.finish('caller-hangup');
    leg.press('3');
    expect(digits).toEqual(['2']);
  });

  it('endAs() names the reason of the coming end (the BYE after a transfer)', () => {
    const leg = new TestLeg();
    leg.answer();
    leg.transferredElsewhere();
    const ended: string[] = [];
    leg.onEnded((r) => ended.push(r));
    leg.finish('caller-hangup');
    expect(ended).toEqual(['transferred']);
    expect(leg.released).toEqual(['transferred']);
  });
});
