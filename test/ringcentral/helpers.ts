import { silentLogger } from '../../core/logging.js';
import type { CallLeg, IncomingCall, TelephonyHandler } from '../../core/plugins/telephony.js';
import { RingCentralTelephony, type RingCentralOptions } from '../../plugins/ringcentral/index.js';
import { startFakeRingCentral, type FakeRingCentral, type FakeRingCentralOptions } from '../fakes/ringcentral/index.js';

export interface Rig {
  fake: FakeRingCentral;
  plugin: RingCentralTelephony;
  /** Calls the plugin offered, in order. */
  incoming: IncomingCall[];
  nextIncoming(): Promise<IncomingCall>;
  states: string[];
  close(): Promise<void>;
}

export function pluginOptions(fake: FakeRingCentral, extra: Partial<RingCentralOptions> = {}): RingCentralOptions {
  return {
    server: fake.restUrl,
    clientId: fake.clientId,
    clientSecret: fake.clientSecret,
    jwt: fake.jwt,
    tlsRejectUnauthorized: false,
    loopbackIce: true,
    reconnect: { minMs: 20, maxMs: 200 },
    ...extra,
  };
}

export async function startRig(
  opts: { fake?: FakeRingCentralOptions; plugin?: Partial<RingCentralOptions>; handler?: Partial<TelephonyHandler> } = {},
): Promise<Rig> {
  const fake = await startFakeRingCentral(opts.fake);
  const plugin = new RingCentralTelephony(pluginOptions(fake, opts.plugin), { logger: silentLogger() });
  const incoming: IncomingCall[] = [];
  const waiting: ((c: IncomingCall) => void)[] = [];
  const states: string[] = [];
  try {
    await plugin.listen({
      onIncomingCall: (c) => {
        incoming.push(c);
        const w = waiting.shift();
        if (w) w(c);
        opts.handler?.onIncomingCall?.(c);
      },
      onStateChange: (s, d) => states.push(d ? `${s} ${d}` : s),
    });
  } catch (e) {
    await plugin.stop().catch(() => undefined);
    await fake.close();
    throw e;
  }
  let taken = 0;
  return {
    fake,
    plugin,
    incoming,
    states,
    nextIncoming: () => {
      const have = incoming[taken];
      if (have) {
        taken++;
        return Promise.resolve(have);
      }
      return new Promise((r) => waiting.push((c) => {
        taken++;
        r(c);
      }));
    },
    close: async () => {
      await plugin.stop().catch(() => undefined);
      await fake.close();
    },
  };
}

/** A tone the caller can send: sine at `hz`, `ms` long. */
export function tone(hz: number, rate: number, ms: number, amp = 8000): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

export function rmsOf(s: Int16Array): number {
  let acc = 0;
  for (const v of s) acc += v * v;
  return s.length ? Math.sqrt(acc / s.length) : 0;
}

/** Dominant frequency by brute-force DFT over a band: enough to tell two test tones apart. */
export function dominantHz(s: Int16Array, rate: number, lo = 200, hi = 2000, step = 10): number {
  let best = 0;
  let bestHz = 0;
  for (let f = lo; f <= hi; f += step) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < s.length; i++) {
      const a = (2 * Math.PI * f * i) / rate;
      re += s[i]! * Math.cos(a);
      im += s[i]! * Math.sin(a);
    }
    const p = re * re + im * im;
    if (p > best) {
      best = p;
      bestHz = f;
    }
  }
  return bestHz;
}

/** Send bot audio in real time from a leg, 20 ms frames at the leg's output rate. */
export async function playFromBot(leg: CallLeg, samples: Int16Array): Promise<void> {
  const rate = leg.media.outputRate;
  const n = (rate * leg.media.frameMs) / 1000;
  for (let i = 0; i + n <= samples.length; i += n) {
    leg.media.write({ samples: samples.subarray(i, i + n), sampleRate: rate, timestampMs: (i * 1000) / rate });
    await new Promise((r) => setTimeout(r, leg.media.frameMs));
  }
}

/** Polls `pred` every 10 ms; the limit is generous (a loaded machine is slow, not failed). */
export function until(pred: () => boolean, what: string, maxMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const t = setInterval(() => {
      if (pred()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - started > maxMs) {
        clearInterval(t);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 10);
  });
}

/**
 * Highest normalised cross-correlation of `probe` against `stream` over lags
 * 0..maxLag: near 1 means the stream carries the probe (after codec delay).
 */
export function bestCorrelation(stream: Int16Array, probe: Int16Array, maxLag: number): { r: number; lag: number } {
  let best = { r: -1, lag: 0 };
  let pp = 0;
  for (const v of probe) pp += v * v;
  for (let lag = 0; lag <= maxLag && lag + probe.length <= stream.length; lag++) {
    let sp = 0;
    let ss = 0;
    for (let i = 0; i < probe.length; i++) {
      const x = stream[lag + i]!;
      sp += x * probe[i]!;
      ss += x * x;
    }
    const r = ss && pp ? sp / Math.sqrt(ss * pp) : 0;
    if (r > best.r) best = { r, lag };
  }
  return best;
}

/** A chirp with a wobble: every 20 ms differs, so only the right alignment correlates. */
export function chirp(rate: number, ms: number): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    out[i] = Math.round(6000 * Math.sin(2 * Math.PI * (300 * t + 900 * t * t)) + 1500 * Math.sin(2 * Math.PI * 170 * t));
  }
  return out;
}
