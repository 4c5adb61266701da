import { resample } from '../../core/audio/resampler.js';
import { AnsweringMachineDetector, type AmdDecision, type AmdResult } from '../../core/audio/amd.js';
import { sharedFliteEngine, type FliteVoice } from '../../plugins/flite/index.js';

/** Greetings people say when they pick up. */
export const HUMAN_GREETINGS = [
  'Hello?',
  'Hi, this is Ann.',
  'Yes?',
  'Hello, Mark speaking.',
  'Hey.',
  'Good morning, Dana here.',
  // Hard: a person who says a whole sentence before pausing.
  'Good afternoon, you are speaking with Dana from accounts, how can I help you today?',
];
/** Greetings answering machines play. */
export const MACHINE_GREETINGS = [
  "Hi, you've reached the Johnson residence. We can't come to the phone right now, please leave a message after the tone.",
  'The person you are calling is not available. Please record your message after the beep.',
  'Thanks for calling Acme Dental. Our office is closed. Leave your name and number and we will call you back.',
  'Hello, this is Sam. Sorry I missed your call, I will get back to you as soon as I can.',
  'You have reached the voicemail box of extension four one two. Please leave a message.',
  // Hard: a recorded greeting as short as a person's.
  'Sam. Leave a message.',
];

export interface AmdCase {
  name: string;
  truth: 'human' | 'machine';
  text: string;
  rate: number;
  voice: FliteVoice;
  beep: boolean;
  noise: number;
  samples: Int16Array;
  /** ms from the start of `samples` to the end of the greeting / of the beep. */
  greetingEndMs: number;
  beepEndMs?: number;
}

const NOISE_RMS = 250; // about -42 dBFS: a quiet mobile line

function tone(rate: number, ms: number, hz: number, amp: number): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** Flite pads its output with silence; keep the speech so the timing truth is exact. */
function trim(s: Int16Array, rate: number): Int16Array {
  const n = rate / 50;
  let a = 0;
  let b = s.length;
  const loud = (i: number) => {
    let e = 0;
    for (let j = i; j < Math.min(s.length, i + n); j++) e += s[j]! * s[j]!;
    return Math.sqrt(e / n) > 300;
  };
  while (a < s.length && !loud(a)) a += n;
  while (b > a && !loud(Math.max(a, b - n))) b -= n;
  return s.slice(a, b);
}

/** Synthesize the set: each greeting × voices, machines with and without a beep, clean and with line noise. */
export async function buildAmdSet(): Promise<AmdCase[]> {
  const flite = sharedFliteEngine();
  const out: AmdCase[] = [];
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const variants: { voice: FliteVoice; rate: number }[] = [
    { voice: 'slt', rate: 16000 },
    { voice: 'kal', rate: 8000 },
    { voice: 'rms', rate: 8000 },
  ];
  const all = [...HUMAN_GREETINGS.map((t) => ({ t, truth: 'human' as const })), ...MACHINE_GREETINGS.map((t) => ({ t, truth: 'machine' as const }))];
  for (const { t, truth } of all) {
    for (const v of variants) {
      const r = await flite.synthesize({ voice: v.voice, text: t, speed: 1 });
      const speech = trim(r.sampleRate === v.rate ? r.samples : resample(r.samples, r.sampleRate, v.rate), v.rate);
      for (const beep of truth === 'machine' ? [true, false] : [false]) {
        for (const noise of [0, NOISE_RMS]) {
          const lead = new Int16Array(Math.round(v.rate * 0.3));
          const gap = new Int16Array(Math.round(v.rate * 0.4));
          const beepPcm = beep ? tone(v.rate, 400, 1000, 9000) : new Int16Array(0);
          const tail = new Int16Array(v.rate * 4);
          const parts = [lead, speech, ...(beep ? [gap, beepPcm] : []), tail];
          const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
          let off = 0;
          for (const p of parts) {
            samples.set(p, off);
            off += p.length;
          }
          if (noise) for (let i = 0; i < samples.length; i++) samples[i] = Math.max(-32768, Math.min(32767, samples[i]! + Math.round(rand() * noise * 1.7)));
          const greetingEndMs = ((lead.length + speech.length) * 1000) / v.rate;
          out.push({
            name: `${truth} ${v.voice}@${v.rate / 1000}k ${beep ? 'beep ' : ''}${noise ? 'noise ' : ''}"${t.slice(0, 28)}"`,
            truth,
            text: t,
            rate: v.rate,
            voice: v.voice,
            beep,
            noise,
            samples,
            greetingEndMs,
            ...(beep ? { beepEndMs: greetingEndMs + 400 + 400 } : {}),
          });
        }
      }
    }
  }
  return out;
}

/** Run the detector over one case in 20 ms frames, in virtual time (the frames carry it). */
export function runAmd(c: AmdCase, opts: { timeoutMs?: number; /** an STT final of the greeting arrives this long after it ends */ transcriptDelayMs?: number } = {}): AmdResult {
  const amd = new AnsweringMachineDetector({ sampleRate: c.rate, timeoutMs: opts.timeoutMs ?? 5000, beepTimeoutMs: 20_000 });
  const n = c.rate / 50;
  let t = 0;
  const sttAt = opts.transcriptDelayMs === undefined ? Infinity : c.greetingEndMs + opts.transcriptDelayMs;
  let told = false;
  for (let i = 0; i + n <= c.samples.length && !amd.done; i += n, t += 20) {
    if (!told && t >= sttAt) {
      told = true;
      amd.addTranscript(c.text, t);
    }
    amd.pushFrame(c.samples.subarray(i, i + n), t);
  }
  // The tail ran out before a decision: let time pass.
  for (; !amd.done && t < 30_000; t += 20) amd.tick(t);
  return amd.done!;
}

export interface AmdRow {
  group: string;
  cases: number;
  correct: number;
  meanDecisionMs: number;
  p90DecisionMs: number;
}

export function summarise(results: { c: AmdCase; r: AmdResult }[], group: (c: AmdCase) => string): AmdRow[] {
  const groups = new Map<string, { c: AmdCase; r: AmdResult }[]>();
  for (const x of results) groups.set(group(x.c), [...(groups.get(group(x.c)) ?? []), x]);
  return [...groups].map(([g, xs]) => {
    const times = xs.map((x) => x.r.decidedAtMs).sort((a, b) => a - b);
    return {
      group: g,
      cases: xs.length,
      correct: xs.filter((x) => x.r.outcome === (x.c.truth as AmdDecision)).length,
      meanDecisionMs: Math.round(times.reduce((a, b) => a + b, 0) / times.length),
      p90DecisionMs: times[Math.min(times.length - 1, Math.floor(times.length * 0.9))]!,
    };
  });
}
