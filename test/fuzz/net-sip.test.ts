/**
 * Structure-aware fuzz of the SIP messages the RingCentral plugin receives,
 * over the fake proxy's real WSS: broken INVITEs (with and without P-rc call
 * control XML), in-dialog requests, responses, raw bytes. Nothing may throw
 * or reject unhandled; a call that is up stays up; afterwards a normal call
 * is offered, answered and hung up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallLeg, HangupReason } from '../../core/plugins/telephony.js';
import type { FakeCall } from '../fakes/ringcentral/index.js';
import { startRig, type Rig } from '../ringcentral/helpers.js';
import { until } from '../websocket/helpers.js';
import { FUZZ_SEED, gen, iterations, mutateLines, type Gen } from './gen.js';

let rig: Rig;
let live: FakeCall;
let liveLeg: CallLeg;
const liveEnded: HangupReason[] = [];
beforeAll(async () => {
  rig = await startRig();
  live = await rig.fake.placeCall();
  liveLeg = await (await rig.nextIncoming()).answer();
  await live.answered;
  liveLeg.onEnded((r) => liveEnded.push(r));
});
afterAll(() => rig.close());

const P_RC =
  '<Msg><Hdr SID="35100" Req="{1}" From="#1@sip.ringcentral.com" To="101" Cmd="6"/><Bdy SrvLvl="-131" SrvLvlExt="230" Phn="+16505550199" Nm="Caller" ToPhn="+16505550100" ToNm="Bot" RecUrl=""/></Msg>';

function templates(g: Gen, i: number): string[] {
  const d = rig.fake.dialogOf(live);
  const callId = `fuzz-${i}-${g.int(1e6)}`;
  const via = `SIP/2.0/WSS ${d.hostPort};branch=z9hG4bK${g.int(1e9)}`;
  const from = `"Caller" <sip:+16505550199@${d.domain}>;tag=t${i}`;
  const to = `<sip:${d.user}@${d.domain}>`;
  const msg = (start: string, headers: [string, string][], body = ''): string =>
    [start, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
  const common = (method: string, cseq = 1): [string, string][] => [
    ['Via', via],
    ['From', from],
    ['To', to],
    ['Call-Id', callId],
    ['CSeq', `${cseq} ${method}`],
    ['Max-Forwards', '70'],
  ];
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n';
  return [
    msg(`INVITE ${d.uri} SIP/2.0`, [...common('INVITE'), ['Contact', `<sip:x@${d.hostPort};transport=wss>`], ['P-rc', P_RC], ['p-rc-api-ids', 'party-id=p-1z-2;session-id=s-1z'], ['Content-Type', 'application/sdp']], sdp),
    msg(`INVITE ${d.uri} SIP/2.0`, [...common('INVITE'), ['Content-Type', 'application/sdp']], sdp),
    msg(`MESSAGE ${d.uri} SIP/2.0`, [...common('MESSAGE'), ['Content-Type', 'x-rc/agent']], P_RC),
    msg(`BYE ${d.uri} SIP/2.0`, common('BYE', 2)),
    msg(`CANCEL ${d.uri} SIP/2.0`, common('CANCEL')),
    msg(`INFO ${d.uri} SIP/2.0`, [...common('INFO', 3), ['Content-Type', 'application/dtmf-relay']], 'Signal=5\r\nDuration=160\r\n'),
    msg(`NOTIFY ${d.uri} SIP/2.0`, [...common('NOTIFY', 4), ['Event', 'talk']]),
    msg('SIP/2.0 200 OK', [...common('REGISTER', 99), ['Contact', `<sip:x@y>;expires=60`]]),
    msg('SIP/2.0 407 Proxy Authentication Required', [...common('INVITE', 1), ['Proxy-Authenticate', 'Digest realm="x", nonce="n"']]),
  ];
}

describe('SIP gate regressions', () => {
  it('an INVITE whose P-rc header is not call-control XML is answered 400 (it used to reject unhandled inside the WebPhone and end the process)', async () => {
    const g = gen(1);
    const invite = templates(g, 0)[0].replace(/^P-rc: .*$/m, 'P-rc: <Msg><Hdr SID="1"');
    const before = rig.fake.sipLog.length;
    rig.fake.sendRawSip(invite);
    await until(() => rig.fake.sipLog.slice(before).some((l) => l.dir === 'in' && l.start.startsWith('SIP/2.0 400 ')), 'a 400 for the broken INVITE');
    expect(rig.incoming.filter((c) => c.info.meta.sipCallId?.startsWith('fuzz-0-'))).toEqual([]);
    expect(liveEnded).toEqual([]);
  });
});

describe('fuzz: SIP messages the RingCentral plugin receives (real WSS from the fake proxy)', () => {
  const N = iterations(150);
  it(`${N} messages from seed ${FUZZ_SEED}: no crash, the live call stays up, a normal call works after`, async () => {
    const g = gen(FUZZ_SEED);
    for (let i = 0; i < N; i++) {
      const t = g.pick(templates(g, i));
      const r = g.next();
      if (r < 0.75) rig.fake.sendRawSip(mutateLines(g, t));
      else if (r < 0.85) rig.fake.sendRawSip(t.slice(0, g.int(t.length)));
      else if (r < 0.95) rig.fake.sendRawSip(t); // valid ones too: the paths behind the parser run
      else rig.fake.sendRawSip(g.bytes(g.pick([0, 10, 2000])), { binary: g.chance(0.5) });
      // Let the plugin digest each message; decline whatever it offered as a call.
      await new Promise((res) => setTimeout(res, 2));
      for (const c of rig.incoming.splice(0)) void c.reject('decline').catch(() => undefined);
    }
    await new Promise((res) => setTimeout(res, 200));
    for (const c of rig.incoming.splice(0)) await c.reject('decline').catch(() => undefined);
    expect(liveEnded).toEqual([]);
    // A normal call after the fuzz: offered, answered, hung up.
    const call = await rig.fake.placeCall();
    const leg = await until(() => rig.incoming.find((c) => c.info.meta.sipCallId === call.callId), 'the normal call offered');
    const answered = await leg.answer();
    await call.answered;
    await answered.hangup();
    expect(await call.ended).toBe('bot-bye');
    await liveLeg.hangup();
    expect(await live.ended).toBe('bot-bye');
  }, 120_000);
});
