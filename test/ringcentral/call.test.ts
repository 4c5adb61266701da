import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AudioFrame } from '../../core/audio/frame.js';
import { mulawDecode, mulawEncode } from '../../core/audio/g711.js';
import type { HangupReason } from '../../core/plugins/telephony.js';
import { bestCorrelation, chirp, dominantHz, playFromBot, rmsOf, startRig, tone, until, type Rig } from './helpers.js';

// Real sockets/processes and CPU-bound work: generous limits, so a loaded machine (many test files on 2 cores) is slow, not failed.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('ringcentral plugin against the fake platform', () => {
  it('registers, answers over SIP exactly once and never over REST, carries audio both ways', async () => {
    rig = await startRig();
    const { fake } = rig;
    expect(fake.registrations).toBe(1);
    expect(fake.countRequests('/restapi/oauth/token')).toBe(1);
    expect(fake.countRequests('/client-info/sip-provision', 'POST')).toBe(1);

    const call = await fake.placeCall({ from: '+16505550199' });
    const incoming = await rig.nextIncoming();
    expect(incoming.info.from).toBe('+16505550199');
    expect(incoming.info.meta.telephonySessionId).toBe(call.sessionId);
    expect(incoming.info.meta.partyId).toBe(call.partyId);

    const leg = await incoming.answer();
    await expect(incoming.answer()).rejects.toMatchObject({ code: 'VB_ERR_CALL_ALREADY_ANSWERED' });
    await call.answered;
    expect(leg.media.inputRate).toBe(16000);
    expect(leg.media.outputRate).toBe(16000);

    const botFrames: AudioFrame[] = [];
    leg.media.setReceiver((f) => botFrames.push({ ...f, samples: f.samples.slice() }));
    await call.play(tone(440, call.audio.pcmRate, 600), call.audio.pcmRate);
    await until(() => botFrames.length >= 20, 'caller audio at the bot');
    expect(botFrames.every((f) => f.sampleRate === leg.media.inputRate)).toBe(true);
    expect(botFrames.every((f) => f.samples.length === (leg.media.inputRate * 20) / 1000)).toBe(true);
    const loud = botFrames.filter((f) => rmsOf(f.samples) > 1000);
    expect(loud.length).toBeGreaterThan(10);
    const joined = Int16Array.from(loud.slice(-8).flatMap((f) => [...f.samples]));
    expect(Math.abs(dominantHz(joined, leg.media.inputRate) - 440)).toBeLessThanOrEqual(20);

    call.received.length = 0;
    await playFromBot(leg, tone(1000, leg.media.outputRate, 600));
    await until(() => call.received.filter((f) => rmsOf(f.samples) > 1000).length >= 10, 'bot audio at the caller');
    const heard = call.received.filter((f) => rmsOf(f.samples) > 1000);
    const heardJoined = Int16Array.from(heard.slice(-8).flatMap((f) => [...f.samples]));
    expect(Math.abs(dominantHz(heardJoined, heard[0]!.sampleRate) - 1000)).toBeLessThanOrEqual(20);

    // Content, not just energy: a chirp survives Opus with high correlation at the codec's delay.
    const probe = chirp(16000, 600);
    call.received.length = 0;
    await playFromBot(leg, probe);
    await until(() => call.received.length >= probe.length / 320 - 2, 'chirp at the caller');
    const got = concat(call.received);
    const mid = probe.subarray(3200, 6400);
    const corr = bestCorrelation(got, mid, got.length - mid.length);
    expect(corr.r).toBeGreaterThan(0.8);
    // And a wrong probe does not correlate: the check can fail.
    expect(bestCorrelation(got, tone(3000, 16000, 200), got.length - 3200).r).toBeLessThan(0.5);

    expect(call.okCount).toBe(1);
    expect(call.statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(call.statuses.indexOf(180)).toBeLessThan(call.statuses.indexOf(200));
    expect(fake.countRequests('/answer')).toBe(0);
    await leg.hangup();
  });

  it('carries PCMU calls at 8 kHz, sample-exact after G.711 quantisation in both directions', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall({ codecs: ['pcmu'] });
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    expect(leg.media.inputRate).toBe(8000);
    expect(leg.media.outputRate).toBe(8000);
    // A chirp-like mix: every 20 ms frame differs, so an offset or a dropped frame cannot match.
    const signal = new Int16Array(8000 * 0.4);
    for (let i = 0; i < signal.length; i++) signal[i] = Math.round(6000 * Math.sin(2 * Math.PI * (300 + i / 8) * (i / 8000)) + 2000 * Math.sin(i / 3));
    const expected = mulawDecode(mulawEncode(signal));

    const atBot: AudioFrame[] = [];
    leg.media.setReceiver((f) => atBot.push({ ...f, samples: f.samples.slice() }));
    await call.play(signal, 8000);
    await until(() => atBot.length >= signal.length / 160, 'PCMU audio at the bot');
    expect(atBot.every((f) => f.sampleRate === 8000 && f.samples.length === 160)).toBe(true);
    expect(Array.from(concat(atBot).subarray(0, expected.length))).toEqual(Array.from(expected));

    call.received.length = 0;
    await playFromBot(leg, signal);
    await until(() => call.received.length >= signal.length / 160, 'PCMU audio at the caller');
    expect(Array.from(concat(call.received).subarray(0, expected.length))).toEqual(Array.from(expected));
    await leg.hangup();
  });

  it('puts reordered RTP back in order and conceals lost packets with silence, keeping the timeline', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall({ codecs: ['pcmu'] });
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const signal = new Int16Array(8000 * 0.6);
    for (let i = 0; i < signal.length; i++) signal[i] = Math.round(6000 * Math.sin(2 * Math.PI * (300 + i / 8) * (i / 8000)) + 2000 * Math.sin(i / 3));
    const expected = mulawDecode(mulawEncode(signal));
    const atBot: AudioFrame[] = [];
    leg.media.setReceiver((f) => atBot.push({ ...f, samples: f.samples.slice() }));

    // Every 4th packet arrives after its successor: all audio still arrives, in order.
    call.audio.outboundFault = { swapEvery: 4 };
    await call.play(signal, 8000);
    await until(() => atBot.length >= signal.length / 160, 'reordered audio at the bot');
    expect(Array.from(concat(atBot).subarray(0, expected.length))).toEqual(Array.from(expected));
    const jitter = (leg as unknown as { audio: { jitter: { stats: { reordered: number; lost: number } } } }).audio.jitter.stats;
    expect(jitter.reordered).toBeGreaterThan(0);
    expect(jitter.lost).toBe(0);

    // Every 5th packet is lost: each becomes 20 ms of silence in its place, the rest stays aligned.
    atBot.length = 0;
    call.audio.outboundFault = { dropEvery: 5 };
    await call.play(signal, 8000);
    await until(() => atBot.length >= signal.length / 160 - 1, 'lossy audio at the bot');
    const got = concat(atBot);
    let silent = 0;
    let exact = 0;
    for (let f = 0; f + 1 < signal.length / 160; f++) {
      const frame = got.subarray(f * 160, f * 160 + 160);
      if (frame.every((x) => x === 0)) silent++;
      else if (Array.from(frame).every((x, i) => x === expected[f * 160 + i])) exact++;
    }
    expect(silent).toBeGreaterThanOrEqual(4);
    expect(silent + exact).toBe(signal.length / 160 - 1);
    expect(jitter.lost).toBe(silent);
    await leg.hangup();
  });

  it('reports caller DTMF (RFC 4733) and sends DTMF to the caller', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const digits: string[] = [];
    leg.onDtmf((d) => digits.push(d));
    await call.pressDtmf('1#9');
    await until(() => digits.length >= 3, 'DTMF at the bot');
    expect(digits).toEqual(['1', '#', '9']);

    const heard: string[] = [];
    call.audio.setDtmfReceiver((d) => heard.push(d));
    await leg.sendDtmf('42');
    await until(() => heard.length >= 2, 'DTMF at the caller');
    expect(heard).toEqual(['4', '2']);
    await leg.hangup();
  });

  it('transfers over REST with the call\'s session and party ids, then ends as transferred', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const ended: HangupReason[] = [];
    leg.onEnded((r) => ended.push(r));
    await leg.transfer('+16505550111');
    const reqs = rig.fake.requests.filter((r) => r.path.endsWith('/transfer'));
    expect(reqs).toHaveLength(1);
    expect(reqs[0]!.path).toBe(`/restapi/v1.0/account/~/telephony/sessions/${call.sessionId}/parties/${call.partyId}/transfer`);
    expect(JSON.parse(reqs[0]!.body)).toEqual({ phoneNumber: '+16505550111' });
    expect(ended).toEqual(['transferred']);
    await expect(leg.sendDtmf('1')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
    await leg.hangup(); // idempotent once ended
    expect(ended).toEqual(['transferred']);
  });

  it('caller BYE ends the leg once with caller-hangup', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const ended: HangupReason[] = [];
    const done = new Promise<void>((r) => leg.onEnded((why) => {
      ended.push(why);
      r();
    }));
    call.hangup();
    await done;
    expect(ended).toEqual(['caller-hangup']);
    await expect(leg.sendDtmf('1')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
  });

  it('bot hangup sends a SIP BYE and no REST delete', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    await leg.hangup();
    expect(await call.ended).toBe('bot-bye');
    expect(rig.fake.countRequests('/telephony/sessions/', 'DELETE')).toBe(0);
  });

  it('reject declines over SIP with a final error response', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const incoming = await rig.nextIncoming();
    await incoming.reject('busy');
    expect(await call.ended).toBe('rejected');
    expect(call.statuses).toContain(486);
    expect(call.okCount).toBe(0);
  });

  it('re-registers after the WebSocket drops and takes the next call', async () => {
    rig = await startRig();
    const { fake } = rig;
    expect(fake.registrations).toBe(1);
    fake.dropSipConnection();
    await fake.waitFor(() => fake.registrations >= 2);
    const call = await fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    expect(call.okCount).toBe(1);
    await leg.hangup();
    expect(rig.states.some((s) => s.startsWith('reconnecting'))).toBe(true);
  });
});

describe('ringcentral plugin: calls that do not go the happy way', () => {
  it('caller CANCEL before the answer: answer() rejects and no 200 OK is sent', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const incoming = await rig.nextIncoming();
    await until(() => call.statuses.includes(180), '180 Ringing');
    call.cancel();
    await until(() => rig!.fake.sipLog.some((m) => m.dir === 'in' && m.start.startsWith('SIP/2.0 200') ), '200 to CANCEL');
    await expect(incoming.answer()).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
    expect(call.okCount).toBe(0);
  });

  it('bot hangup while SIP is down falls back to REST DELETE of the session', async () => {
    rig = await startRig();
    const { fake } = rig;
    const call = await fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    fake.setProxyDown('primary', true);
    await fake.waitFor(() => fake.openSipConnections === 0);
    await leg.hangup();
    expect(fake.countRequests(`/telephony/sessions/${call.sessionId}`, 'DELETE')).toBe(1);
    expect(await call.ended).toBe('dropped');
  });

  it('unroutedCalls: ignore leaves a rejected call ringing (no final response)', async () => {
    rig = await startRig({ plugin: { unroutedCalls: 'ignore' } });
    const call = await rig.fake.placeCall();
    const incoming = await rig.nextIncoming();
    await incoming.reject();
    expect(call.statuses.filter((s) => s >= 200)).toEqual([]);
    expect(call.endReason).toBeUndefined();
  });

  it('autoAnswer: false offers only INVITEs marked Alert-Info: Auto Answer', async () => {
    rig = await startRig({ plugin: { autoAnswer: false } });
    const plain = await rig.fake.placeCall();
    await until(() => plain.statuses.includes(180), '180 for the plain call');
    const marked = await rig.fake.placeCall({ autoAnswerHeaders: { 'Alert-Info': 'Auto Answer' } });
    const incoming = await rig.nextIncoming();
    expect(incoming.info.meta.sipCallId).toBe(marked.callId);
    expect(rig.incoming).toHaveLength(1);
    const leg = await incoming.answer();
    await marked.answered;
    expect(marked.okCount).toBe(1);
    expect(plain.okCount).toBe(0);
    await leg.hangup();
  });
});

describe('ringcentral plugin: offers written like RingCentral\'s', () => {
  it('Opus on payload type 109 is decoded (payload types are mapped by name, not number)', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall({ rcPayloadTypes: true });
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    const frames: AudioFrame[] = [];
    leg.media.setReceiver((f) => frames.push({ ...f, samples: f.samples.slice() }));
    const digits: string[] = [];
    leg.onDtmf((d) => digits.push(d));
    await call.play(tone(440, call.audio.pcmRate, 400), call.audio.pcmRate);
    await until(() => frames.filter((f) => rmsOf(f.samples) > 1000).length >= 10, 'pt 109 audio at the bot');
    expect(leg.media.inputRate).toBe(16000);
    await call.pressDtmf('7');
    await until(() => digits.length >= 1, 'DTMF');
    expect(digits).toEqual(['7']);
    await leg.hangup();
  });
});

describe('ringcentral plugin: mid-call signalling', () => {
  it('a re-INVITE gets one 200 OK, does not re-answer the call, and audio keeps flowing', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    call.reinvite();
    await until(() => call.reinviteStatuses.includes(200), '200 to the re-INVITE');
    expect(call.okCount).toBe(1);
    expect(rig.incoming).toHaveLength(1);
    const frames: AudioFrame[] = [];
    leg.media.setReceiver((f) => frames.push({ ...f, samples: f.samples.slice() }));
    await call.play(tone(440, call.audio.pcmRate, 400), call.audio.pcmRate);
    await until(() => frames.filter((f) => rmsOf(f.samples) > 1000).length >= 10, 'audio after the re-INVITE');
    call.received.length = 0;
    await playFromBot(leg, tone(1000, leg.media.outputRate, 400));
    await until(() => call.received.filter((f) => rmsOf(f.samples) > 1000).length >= 10, 'bot audio after the re-INVITE');
    await leg.hangup();
  });
});

function concat(frames: AudioFrame[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.samples.length, 0));
  let o = 0;
  for (const f of frames) {
    out.set(f.samples, o);
    o += f.samples.length;
  }
  return out;
}

describe('ringcentral plugin: several calls', () => {
  it('two simultaneous calls keep their audio and DTMF apart', async () => {
    rig = await startRig();
    const c1 = await rig.fake.placeCall({ from: '+15550000001' });
    const i1 = await rig.nextIncoming();
    const c2 = await rig.fake.placeCall({ from: '+15550000002' });
    const i2 = await rig.nextIncoming();
    expect([i1.info.from, i2.info.from]).toEqual(['+15550000001', '+15550000002']);
    expect(i1.info.id).not.toBe(i2.info.id);
    const [l1, l2] = await Promise.all([i1.answer(), i2.answer()]);
    await Promise.all([c1.answered, c2.answered]);
    const f1: AudioFrame[] = [];
    const f2: AudioFrame[] = [];
    l1.media.setReceiver((f) => f1.push({ ...f, samples: f.samples.slice() }));
    l2.media.setReceiver((f) => f2.push({ ...f, samples: f.samples.slice() }));
    const d1: string[] = [];
    const d2: string[] = [];
    l1.onDtmf((d) => d1.push(d));
    l2.onDtmf((d) => d2.push(d));
    await Promise.all([c1.play(tone(400, 16000, 400), 16000), c2.play(tone(1200, 16000, 400), 16000)]);
    await until(() => f1.length >= 18 && f2.length >= 18, 'audio on both legs');
    const tail = (fs: AudioFrame[]) => Int16Array.from(fs.slice(-8).flatMap((f) => [...f.samples]));
    expect(Math.abs(dominantHz(tail(f1), 16000) - 400)).toBeLessThanOrEqual(20);
    expect(Math.abs(dominantHz(tail(f2), 16000) - 1200)).toBeLessThanOrEqual(20);
    await Promise.all([c1.pressDtmf('1'), c2.pressDtmf('2')]);
    await until(() => d1.length >= 1 && d2.length >= 1, 'DTMF on both legs');
    expect([d1, d2]).toEqual([['1'], ['2']]);
    c1.hangup();
    await l2.hangup();
    expect(await c2.ended).toBe('bot-bye');
    expect([c1.okCount, c2.okCount]).toEqual([1, 1]);
  });

  it('stop() hangs up active calls with a BYE', async () => {
    rig = await startRig();
    const call = await rig.fake.placeCall();
    const leg = await (await rig.nextIncoming()).answer();
    await call.answered;
    await rig.plugin.stop();
    expect(await call.ended).toBe('bot-bye');
    expect(rig.fake.unregistrations).toBe(1);
    await expect(leg.transfer('100')).rejects.toMatchObject({ code: 'VB_ERR_CALL_STATE' });
  });
});

describe('fake caller as a core CallerSide', () => {
  it('records bot DTMF and transfers and maps the end reason', async () => {
    const { placeCallerSide } = await import('../fakes/ringcentral/caller-side.js');
    rig = await startRig();
    const side = await placeCallerSide(rig.fake);
    const leg = await (await rig.nextIncoming()).answer();
    await side.answered;
    const heard: AudioFrame[] = [];
    side.setReceiver((f) => heard.push({ ...f, samples: f.samples.slice() }));
    await playFromBot(leg, tone(800, leg.media.outputRate, 200));
    await until(() => heard.some((f) => rmsOf(f.samples) > 1000), 'audio through CallerSide');
    await leg.sendDtmf('3');
    await until(() => side.sentDtmf.length === 1, 'bot DTMF recorded');
    await leg.transfer('+15551234567');
    expect(await side.ended).toBe('transferred');
    await until(() => side.transfers.length === 1, 'transfer recorded');
    expect(side.transfers).toEqual(['+15551234567']);
    expect(side.sentDtmf).toEqual(['3']);
  });
});
