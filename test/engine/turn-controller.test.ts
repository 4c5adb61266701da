import { describe, expect, it } from 'vitest';
import { TurnController, shouldBargeIn, type TurnControllerHost } from '../../core/engine/turn-controller.js';
import { VirtualClock } from '../../core/time/virtual-clock.js';

function rig(over: Partial<TurnControllerHost> = {}) {
  const clock = new VirtualClock({ auto: false });
  const log: string[] = [];
  const host: TurnControllerHost = {
    clock,
    minSpeechMs: 300,
    interDigitMs: 3000,
    bargeIn: () => log.push('barge-in'),
    callerSaid: (text) => log.push(`said ${text}`),
    ...over,
  };
  const end = new AbortController();
  const tc = new TurnController(host);
  const listen = (o: Partial<Parameters<TurnController['listen']>[0]> = {}) =>
    tc.listen({ input: ['speech', 'dtmf'], timeoutMs: 5000, ...o }, end.signal, () => new Error('ended'));
  return { clock, log, tc, listen, end };
}

describe('barge-in policy', () => {
  it('cuts in only over a bot turn that allows it, after minSpeechMs of voiced speech', () => {
    expect(shouldBargeIn({ speaking: true, bargeIn: true }, 300, 300)).toBe(true);
    expect(shouldBargeIn({ speaking: true, bargeIn: true }, 280, 300)).toBe(false);
    expect(shouldBargeIn({ speaking: true, bargeIn: false }, 1000, 300)).toBe(false);
    expect(shouldBargeIn({ speaking: false, bargeIn: true }, 1000, 300)).toBe(false);
  });
});

describe('TurnController', () => {
  it('times out a listen after timeoutMs of no input; speech stops the clock and restarts it after an empty final', async () => {
    const r = rig();
    let res: unknown;
    void r.listen().then((x) => (res = x));
    await r.clock.advance(4000);
    r.tc.speechStart(1);
    await r.clock.advance(3000);
    expect(res).toBeUndefined();
    r.tc.endpoint(1000, 1400);
    r.tc.final(1, '   ');
    await r.clock.advance(4999);
    expect(res).toBeUndefined();
    await r.clock.advance(1);
    expect(res).toEqual({ type: 'timeout' });
  });

  it('speech over the bot that did not cut in is discarded; with barge-in its onset pauses the bot, its words stop it, and it is the next turn', async () => {
    const r = rig({ pauseBot: (m) => r.log.push(`pause ${m}`), resumeBot: () => r.log.push('resume') });
    r.tc.setBot({ speaking: true, bargeIn: false });
    r.tc.speechStart(1);
    r.tc.voiced(1000);
    expect(r.tc.endpoint(0, 10)).toBe(true);
    r.tc.final(1, 'noise words');
    expect(r.log).toEqual([]);

    r.tc.setBot({ speaking: true, bargeIn: true });
    r.tc.speechStart(2);
    // One voiced frame every 20 ms: the onset is a 300 ms run.
    for (let ms = 20; ms < 300; ms += 20) {
      r.tc.voiced(ms);
      await r.clock.advance(20);
    }
    expect(r.log).toEqual([]);
    r.tc.voiced(300);
    expect(r.log).toEqual(['pause pause']);
    r.tc.interim(2, 'st');
    expect(r.log).toEqual(['pause pause', 'barge-in']);
    r.tc.setBot({ speaking: false, bargeIn: false });
    expect(r.tc.endpoint(0, 10)).toBe(false);
    r.tc.final(2, 'stop please');
    expect(r.log).toEqual(['pause pause', 'barge-in', 'said stop please']);
    // Said before anyone listened: the next listen gets it at once.
    expect(await r.listen({ input: ['speech'] })).toEqual({ type: 'speech', text: 'stop please' });
  });

  it('a backchannel over the bot is no turn even when the bot finished before its final; real words after the bot finished are one', async () => {
    const r = rig({ pauseBot: () => r.log.push('pause'), resumeBot: () => r.log.push('resume') });
    const over = async (seq: number, final: string) => {
      r.tc.setBot({ speaking: true, bargeIn: true });
      r.tc.speechStart(seq);
      for (let ms = 20; ms <= 300; ms += 20) {
        r.tc.voiced(ms);
        await r.clock.advance(20);
      }
      r.tc.endpoint(0, 10);
      r.tc.setBot({ speaking: false, bargeIn: false });
      r.tc.final(seq, final);
    };
    await over(1, 'mhm');
    expect(r.log).toEqual(['pause']);
    const quiet = r.listen({ input: ['speech'], timeoutMs: 100 });
    await r.clock.advance(100);
    expect(await quiet).toEqual({ type: 'timeout' });
    await over(2, 'no thanks');
    expect(r.log).toEqual(['pause', 'pause', 'said no thanks']);
  });

  it('collects DTMF: numDigits, finishOnKey, inter-digit timeout, type-ahead, and hotkeys first', async () => {
    const keys: string[] = [];
    const r = rig({ hotkey: (d) => (keys.push(d), d === '0') });
    const a = r.listen({ input: ['dtmf'], numDigits: 3 });
    for (const d of '1023') r.tc.digit(d);
    expect(await a).toEqual({ type: 'dtmf', digits: '123' });
    const b = r.listen({ input: ['dtmf'], finishOnKey: '#' });
    for (const d of '45#') r.tc.digit(d);
    expect(await b).toEqual({ type: 'dtmf', digits: '45' });
    let c: unknown;
    void r.listen({ input: ['dtmf'] }).then((x) => (c = x));
    r.tc.digit('7');
    await r.clock.advance(2999);
    expect(c).toBeUndefined();
    await r.clock.advance(1);
    expect(c).toEqual({ type: 'dtmf', digits: '7' });
    // Pressed while nobody listened (type-ahead): the next listen collects them.
    r.tc.digit('9');
    r.tc.digit('8');
    expect(await r.listen({ input: ['dtmf'], numDigits: 2 })).toEqual({ type: 'dtmf', digits: '98' });
    expect(keys.join('')).toBe('102345#798');
  });

  it('a key over a bot turn that allows barge-in cuts it off', () => {
    const r = rig();
    r.tc.setBot({ speaking: true, bargeIn: true });
    r.tc.digit('5');
    expect(r.log).toEqual(['barge-in']);
  });

  it('rejects a waiting listen when the call ends, and an STT error reaches the next speech listen', async () => {
    const r = rig();
    const l = r.listen();
    r.tc.close(new Error('call over'));
    await expect(l).rejects.toThrow('call over');
    const r2 = rig();
    r2.tc.speechError(new Error('stt down'));
    await expect(r2.listen({ input: ['speech'] })).rejects.toThrow('stt down');
  });
});
