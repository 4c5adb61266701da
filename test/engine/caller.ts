import type { AudioFrame } from '../../core/audio/frame.js';
import type { PacerClock, Tickable } from '../../core/audio/pacer.js';
import type { CallerSide } from '../../core/plugins/telephony.js';
import { MockSpeechDecoder, encodeMockSpeech } from '../../plugins/mock/mock-speech.js';

/**
 * The far end of a test call: streams 20 ms frames on its own timer (silence
 * when it has nothing to say, like a phone), and decodes the bot's audio
 * with the mock-speech decoder so tests can assert what the bot said.
 */
export class TestCaller {
  readonly side: CallerSide;
  readonly rate: number;
  /** Bot utterances decoded completely. */
  readonly heard: string[] = [];
  /** Bot frames received, and those carrying sound. */
  framesIn = 0;
  loudFramesIn = 0;
  /** Clock ms of the last bot frame with sound (NaN: none yet); needs a pacing clock. */
  lastLoudInAt = Number.NaN;
  /** Clock ms of every caller frame sent with sound (needs a pacing clock). */
  readonly loudOutAt: number[] = [];
  /** Loudest sample of each bot frame received, in order. */
  readonly peaksIn: number[] = [];
  private readonly decoder: MockSpeechDecoder;
  private readonly spf: number;
  private readonly frame: AudioFrame;
  private queue: { samples: Int16Array; pos: number; done: () => void }[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pacing: PacerClock | undefined;
  private readonly ticker: Tickable = { tick: () => this.tick() };
  private ticking = false;
  private t = 0;
  private onLoud: (() => void) | undefined;
  private heardWaiters: { pred: (h: string[]) => boolean; resolve: () => void }[] = [];

  /** With `clock`, frames go out on its ticks (virtual time in tests); without, on a 20 ms interval. */
  constructor(side: CallerSide, clock?: PacerClock) {
    this.side = side;
    this.pacing = clock;
    this.rate = side.sampleRate;
    this.spf = this.rate / 50;
    this.decoder = new MockSpeechDecoder(this.rate);
    this.frame = { samples: new Int16Array(this.spf), sampleRate: this.rate, timestampMs: 0 };
    side.setReceiver((f) => {
      this.framesIn++;
      let loud = false;
      let peak = 0;
      for (let i = 0; i < f.samples.length; i++) peak = Math.max(peak, Math.abs(f.samples[i]));
      for (let i = 0; i < f.samples.length; i += 4) if (Math.abs(f.samples[i]) > 500) loud = true;
      this.peaksIn.push(peak);
      if (loud) {
        this.loudFramesIn++;
        if (this.pacing) this.lastLoudInAt = this.pacing.now();
        this.onLoud?.();
      }
      this.decoder.push(f.samples);
      const done = this.decoder.take();
      if (done.length) {
        this.heard.push(...done);
        this.heardWaiters = this.heardWaiters.filter((w) => (w.pred(this.heard) ? (w.resolve(), false) : true));
      }
    });
  }

  /** What the decoder has of a bot utterance still (or never) finished. */
  get partial(): string {
    return this.decoder.partial;
  }

  /** Start streaming (silence until told to speak). */
  start(): this {
    if (this.pacing) {
      if (!this.ticking) this.pacing.add(this.ticker);
      this.ticking = true;
    } else this.timer ??= setInterval(this.tick, 20);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.ticking) this.pacing?.remove(this.ticker);
    this.ticking = false;
    this.side.setReceiver(undefined);
  }

  /** Speak `text` as mock speech; resolves when the last frame went out. */
  say(text: string): Promise<void> {
    return this.play(encodeMockSpeech(text, this.rate));
  }

  /** A burst of sound that is not speech (a cough, a door). */
  noise(ms: number): Promise<void> {
    const n = Math.round((this.rate * ms) / 1000);
    const s = new Int16Array(n);
    let seed = 7;
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      s[i] = ((seed / 0x7fffffff) * 2 - 1) * 8000;
    }
    return this.play(s);
  }

  play(samples: Int16Array): Promise<void> {
    this.start();
    return new Promise((resolve) => this.queue.push({ samples, pos: 0, done: resolve }));
  }

  /** Resolves at the first bot frame with sound. */
  firstLoudFrame(): Promise<void> {
    if (this.loudFramesIn > 0) return Promise.resolve();
    return new Promise((r) => {
      this.onLoud = () => {
        this.onLoud = undefined;
        r();
      };
    });
  }

  /** Resolves after `n` more bot frames with sound. */
  afterLoudFrames(n: number): Promise<void> {
    const target = this.loudFramesIn + n;
    return new Promise((r) => {
      this.onLoud = () => {
        if (this.loudFramesIn >= target) {
          this.onLoud = undefined;
          r();
        }
      };
    });
  }

  waitHeard(pred: (heard: string[]) => boolean): Promise<void> {
    if (pred(this.heard)) return Promise.resolve();
    return new Promise((resolve) => this.heardWaiters.push({ pred, resolve }));
  }

  private readonly tick = (): void => {
    const out = this.frame.samples;
    out.fill(0);
    const cur = this.queue[0];
    if (cur) {
      const n = Math.min(this.spf, cur.samples.length - cur.pos);
      out.set(cur.samples.subarray(cur.pos, cur.pos + n));
      cur.pos += n;
      if (cur.pos >= cur.samples.length) {
        this.queue.shift();
        cur.done();
      }
    }
    this.frame.timestampMs = this.t;
    this.t += 20;
    if (this.pacing && cur) {
      for (let i = 0; i < out.length; i++)
        if (Math.abs(out[i]) > 500) {
          this.loudOutAt.push(this.pacing.now());
          break;
        }
    }
    this.side.write(this.frame);
  };
}
