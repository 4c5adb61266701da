/**
 * LiveKit agents-js measured the way bench/ours-child measures voicebot: the
 * same simulated callers (dist/bench/sim-caller.js, 8 kHz, 20 ms frames), the
 * same mock speech and energy VAD decisions, the same modelled provider
 * delays, in one process without a LiveKit server. Only the framework between
 * the fakes differs. Started by bench/peers.ts in a child process:
 *   node --expose-gc run.mjs '<json job>'  → one JSON line on stdout.
 *
 * Plain JS so it needs no build and is not type-checked with the root.
 */
import { AudioFrame } from '@livekit/rtc-node';
import { ReadableStream } from 'node:stream/web';
import { initializeLogger, VAD, VADStream, VADEventType, stt, llm, tts, voice } from '@livekit/agents';

const ROOT = new URL('../../../', import.meta.url);
const { SimCaller, WireStats, runTicker } = await import(new URL('dist/bench/sim-caller.js', ROOT).href);
const { measureWindow } = await import(new URL('dist/bench/window.js', ROOT).href);
const { MockSpeechDecoder, encodeMockSpeech } = await import(new URL('dist/plugins/mock/mock-speech.js', ROOT).href);
const { EnergyVad } = await import(new URL('dist/plugins/energy/vad.js', ROOT).href);

const RATE = 8000;
const FRAME = RATE / 50;
const job = JSON.parse(process.argv[2] ?? '{}');
initializeLogger({ pretty: false, level: 'silent' });
// A fake service can fail in ways LiveKit logs and survives; a bench must not die of it.
process.on('unhandledRejection', () => {});

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    if (!ms) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Per-session timestamps the fakes record, for the voice-to-voice breakdown. */
class TurnMarks {
  constructor() {
    this.turns = [];
    this.cur = undefined;
  }
  open() {
    this.cur = {};
    this.turns.push(this.cur);
    return this.cur;
  }
  /** First time of `k` in the current turn (a turn opens at the VAD's speech start). */
  mark(k) {
    const c = this.cur ?? this.open();
    if (c[k] === undefined) c[k] = performance.now();
  }
}

/** LiveKit VAD whose decisions are voicebot's energy detector's, frame for frame (60 ms onset, 200 ms hangover). */
class EnergyVadLk extends VAD {
  label = 'energy';
  constructor(hooks) {
    super({ updateInterval: 20 });
    this.hooks = hooks;
  }
  stream() {
    return new EnergyVadStream(this, this.hooks);
  }
}

class EnergyVadStream extends VADStream {
  constructor(vad, hooks) {
    super(vad);
    this.hooks = hooks;
    this.det = new EnergyVad().createDetector({ sampleRate: RATE });
    this.speech = 0;
    this.silence = 0;
    this.lastVoicedAt = 0;
    this.samples = 0;
    // The utterance's frames from 500 ms before its onset (LiveKit's Silero prefix padding): END_OF_SPEECH carries them, and a batch STT behind StreamAdapter recognizes them.
    this.utterance = [];
    void this.loop();
  }
  ev(type, frame, extra) {
    return {
      type,
      samplesIndex: this.samples,
      timestamp: Date.now(),
      speechDuration: this.speech,
      silenceDuration: this.silence,
      frames: frame ? [frame] : [],
      probability: this.det.probability,
      inferenceDuration: 0,
      speaking: this.det.speaking,
      rawAccumulatedSilence: this.silence,
      rawAccumulatedSpeech: this.speech,
      ...extra,
    };
  }
  async loop() {
    const view = { samples: undefined, sampleRate: RATE, timestampMs: 0 };
    try {
      for (;;) {
        const { done, value } = await this.inputReader.read();
        if (done || this.closed) break;
        if (typeof value === 'symbol') continue;
        const now = performance.now();
        if (value.__due !== undefined) this.hooks.lateness?.add(now - value.__due);
        view.samples = value.data;
        this.samples += value.samplesPerChannel;
        const r = this.det.process(view);
        this.utterance.push(value);
        if (!this.det.speaking && r !== 'speech-end' && this.utterance.length > 25) this.utterance.shift();
        const ms = (value.samplesPerChannel * 1000) / value.sampleRate;
        if (this.det.speaking) {
          this.speech += ms;
          if (this.det.probability >= 0.5) {
            this.silence = 0;
            // When the caller sent it: time LiveKit's input queue held the frame is the framework's, not endpointing's.
            this.lastVoicedAt = value.__sent ?? now;
          } else this.silence += ms;
        } else this.silence += ms;
        if (r === 'speech-start') {
          this.hooks.startOfSpeech?.();
          this.speech = ms;
          this.silence = 0;
          this.sendVADEvent(this.ev(VADEventType.START_OF_SPEECH, value, { speaking: true }));
        }
        this.sendVADEvent(this.ev(VADEventType.INFERENCE_DONE, value, { rawAccumulatedSpeech: this.det.speaking ? this.speech : 0 }));
        if (r === 'speech-end') {
          // silenceDuration is audio since the last voiced frame, as Silero reports it; LiveKit counts its endpointing delay from there.
          this.hooks.endOfSpeech?.(this.lastVoicedAt, now, this.silence);
          this.sendVADEvent(this.ev(VADEventType.END_OF_SPEECH, value, { speaking: false, frames: this.utterance }));
          this.utterance = [];
          this.speech = 0;
        }
      }
    } catch {
      // stream closed
    }
  }
}

/**
 * Streaming STT decoding mock speech exactly (voicebot's decoder), like voicebot's mock STT:
 * interims as the audio arrives, each final `delayMs` after the audio that completed it.
 * `preflight`: the interims are sent as PREFLIGHT_TRANSCRIPT instead (a provider with an eager
 * end-of-turn signal, on which LiveKit starts preemptive generation).
 */
class MockSpeechStt extends stt.STT {
  label = 'mock-speech';
  constructor(delayMs, marks, preflight = false) {
    super({ streaming: true, interimResults: true });
    this.delayMs = delayMs;
    this.marks = marks;
    this.preflight = preflight;
  }
  async _recognize() {
    throw new Error('streaming only');
  }
  stream(options) {
    return new MockSpeechSttStream(this, options?.connOptions);
  }
}

/** Batch STT decoding mock speech (voicebot's decoder): answers `delayMs` after the request. LiveKit runs it behind its StreamAdapter (VAD-segmented). */
class MockSpeechBatchStt extends stt.STT {
  label = 'mock-speech-batch';
  constructor(delayMs, marks) {
    super({ streaming: false, interimResults: false });
    this.delayMs = delayMs;
    this.marks = marks;
  }
  async _recognize(frames, abortSignal) {
    const dec = new MockSpeechDecoder(RATE);
    for (const f of Array.isArray(frames) ? frames : [frames]) dec.push(f.data);
    dec.push(new Int16Array(RATE / 25));
    const text = dec.take().join(' ');
    await sleep(this.delayMs, abortSignal);
    this.marks.mark('sttFinal');
    return { type: stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives: [{ text, language: 'en', startTime: 0, endTime: 0, confidence: 1 }] };
  }
  stream() {
    throw new Error('batch only: wrapped in stt.StreamAdapter');
  }
}

class MockSpeechSttStream extends stt.SpeechStream {
  label = 'mock-speech.stream';
  constructor(owner, connOptions) {
    super(owner, RATE, connOptions);
    this.owner = owner;
  }
  async run() {
    const dec = new MockSpeechDecoder(RATE);
    let lastPartial = '';
    for await (const data of this.input) {
      if (typeof data === 'symbol') {
        dec.push(new Int16Array(RATE / 25));
      } else dec.push(data.data);
      const partial = dec.partial;
      if (partial && partial !== lastPartial && !this.closed) {
        lastPartial = partial;
        const type = this.owner.preflight ? stt.SpeechEventType.PREFLIGHT_TRANSCRIPT : stt.SpeechEventType.INTERIM_TRANSCRIPT;
        this.queue.put({ type, alternatives: [{ text: partial, language: 'en', startTime: 0, endTime: 0, confidence: 1 }] });
      }
      for (const text of dec.take()) {
        lastPartial = '';
        const put = () => {
          if (this.closed) return;
          this.owner.marks.mark('sttFinal');
          this.queue.put({ type: stt.SpeechEventType.FINAL_TRANSCRIPT, alternatives: [{ text, language: 'en', startTime: 0, endTime: 0, confidence: 1 }] });
        };
        if (this.owner.delayMs > 0) setTimeout(put, this.owner.delayMs);
        else put();
      }
    }
  }
}

/** Time to first token, then one word per tokenDelayMs, like voicebot's mock LLM. */
class TimedLlm extends llm.LLM {
  constructor(reply, firstMs, tokenMs, marks) {
    super();
    this.reply = reply;
    this.firstMs = firstMs;
    this.tokenMs = tokenMs;
    this.marks = marks;
  }
  label() {
    return 'timed-llm';
  }
  chat({ chatCtx, toolCtx, connOptions }) {
    return new TimedLlmStream(this, { chatCtx, toolCtx, connOptions });
  }
}

class TimedLlmStream extends llm.LLMStream {
  constructor(owner, params) {
    super(owner, params);
    this.owner = owner;
  }
  async run() {
    const o = this.owner;
    o.marks.mark('llmStart');
    const signal = this.abortController?.signal;
    await sleep(o.firstMs, signal);
    const parts = o.reply.split(/(?<= )/);
    for (let i = 0; i < parts.length; i++) {
      if (signal?.aborted) return;
      if (i > 0) await sleep(o.tokenMs, signal);
      if (i === 0) o.marks.mark('llmFirst');
      if (/[.!?]\s*$/.test(parts[i])) o.marks.mark('llmSentence');
      this.queue.put({ id: 'timed', delta: { role: 'assistant', content: parts[i] } });
    }
  }
}

/** Mock speech after a first-byte delay, in 100 ms chunks (voicebot's mock TTS defaults). */
class MockSpeechTts extends tts.TTS {
  label = 'mock-speech-tts';
  constructor(firstMs, marks) {
    super(RATE, 1, { streaming: false });
    this.firstMs = firstMs;
    this.marks = marks;
  }
  synthesize(text, connOptions, abortSignal) {
    return new MockSpeechChunked(text, this, connOptions, abortSignal);
  }
  stream() {
    throw new Error('not streaming: LiveKit wraps it in its StreamAdapter (sentence tokenizer)');
  }
}

let requests = 0;
class MockSpeechChunked extends tts.ChunkedStream {
  label = 'mock-speech-tts.chunked';
  constructor(text, owner, connOptions, abortSignal) {
    super(text, owner, connOptions, abortSignal);
    this.owner = owner;
    this.text = text;
  }
  async run() {
    const o = this.owner;
    o.marks.mark('ttsStart');
    await sleep(o.firstMs, this.abortSignal);
    o.marks.mark('ttsFirst');
    const audio = encodeMockSpeech(this.text, RATE);
    const step = RATE / 10;
    const requestId = `r${++requests}`;
    for (let i = 0; i < audio.length; i += step) {
      const s = audio.slice(i, i + step);
      this.queue.put({ requestId, segmentId: requestId, frame: new AudioFrame(s, RATE, 1, s.length), final: i + step >= audio.length });
      await new Promise((r) => setImmediate(r));
    }
  }
}

class CallerAudioInput extends voice.AudioInput {
  constructor() {
    super();
    this.multiStream.addInputStream(new ReadableStream({ start: (c) => (this.controller = c) }));
  }
  push(frame) {
    this.controller.enqueue(frame);
  }
}

/**
 * One shared 20 ms pacer for every session's output, as voicebot has: a reply
 * starts on capture, later frames leave on the shared tick.
 */
class SharedPacer {
  constructor() {
    this.outputs = new Set();
    const t0 = performance.now();
    let n = 0;
    const step = () => {
      if (this.stopped) return;
      for (const o of this.outputs) o.tick();
      n++;
      this.timer = setTimeout(step, Math.max(0, t0 + n * 20 - performance.now()));
    };
    this.timer = setTimeout(step, 20);
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

class PacedAudioOutput extends voice.AudioOutput {
  constructor(pacer, deliver) {
    super(RATE);
    this.pacer = pacer;
    this.deliver = deliver;
    this.chunks = [];
    this.off = 0;
    this.queued = 0;
    this.played = 0;
    this.flushed = false;
    this.started = false;
    this.frame = { samples: new Int16Array(FRAME), sampleRate: RATE, timestampMs: 0 };
    pacer.outputs.add(this);
  }
  async captureFrame(frame) {
    await super.captureFrame(frame);
    this.chunks.push(frame.data);
    this.queued += frame.samplesPerChannel;
    this.flushed = false;
    if (!this.started) {
      this.started = true;
      this.onPlaybackStarted(Date.now());
      this.tick();
    }
  }
  tick() {
    if (this.queued === 0) {
      if (this.flushed && this.started) this.finish(false);
      return;
    }
    const out = this.frame.samples;
    let w = 0;
    while (w < FRAME && this.chunks.length) {
      const c = this.chunks[0];
      const n = Math.min(FRAME - w, c.length - this.off);
      out.set(c.subarray(this.off, this.off + n), w);
      w += n;
      this.off += n;
      if (this.off === c.length) {
        this.chunks.shift();
        this.off = 0;
      }
    }
    out.fill(0, w);
    this.queued -= w;
    this.played += w;
    this.frame.timestampMs += 20;
    this.deliver(this.frame);
  }
  finish(interrupted) {
    const pos = this.played / RATE;
    this.started = false;
    this.flushed = false;
    this.played = 0;
    this.onPlaybackFinished({ playbackPosition: pos, interrupted });
  }
  flush() {
    super.flush();
    this.flushed = true;
    if (this.queued === 0 && this.started) this.finish(false);
  }
  clearBuffer() {
    this.chunks = [];
    this.off = 0;
    this.queued = 0;
    if (this.started) this.finish(true);
  }
}

/** A CallerSide (what SimCaller drives) over one AgentSession's audio input and output. */
function lineFor(i, input) {
  let receiver;
  let resolveEnded;
  return {
    callId: `lk-${i}`,
    sampleRate: RATE,
    setReceiver: (cb) => (receiver = cb),
    write: (f) => {
      // LiveKit queues frames: each needs its own buffer.
      const af = new AudioFrame(f.samples.slice(), RATE, 1, f.samples.length);
      af.__due = f.dueAt;
      af.__sent = performance.now();
      input.push(af);
    },
    receive: (f) => receiver?.(f),
    pressDtmf() {},
    hangup() {},
    ended: new Promise((r) => (resolveEnded = r)),
    end: () => resolveEnded('caller'),
    answered: Promise.resolve(),
    sentDtmf: [],
    transfers: [],
  };
}

async function startSession(i, opts, pacer, wire) {
  const marks = new TurnMarks();
  const input = new CallerAudioInput();
  const line = lineFor(i, input);
  const hooks = {
    lateness: wire?.callerLateness,
    startOfSpeech: () => marks.open(),
    endOfSpeech: (lastVoicedAt, emittedAt, silenceMs) => {
      const t = marks.cur ?? marks.open();
      t.lastVoiced = lastVoicedAt;
      // LiveKit's endpoint timer: minDelay after (end-of-speech − silenceDuration), not before end-of-speech itself.
      const due = Math.max(emittedAt, emittedAt - silenceMs + opts.minDelay);
      t.due = due;
      opts.onEndpointDue?.(line.callId, due);
    },
  };
  const session = new voice.AgentSession({
    vad: new EnergyVadLk(hooks),
    // Batch: LiveKit's own StreamAdapter (what AgentSession builds for a non-streaming STT), with a VAD of its own so the marks come from one stream.
    stt: opts.batchStt ? new stt.StreamAdapter(new MockSpeechBatchStt(opts.sttMs, marks), new EnergyVadLk({})) : new MockSpeechStt(opts.sttMs, marks, opts.preflight),
    llm: new TimedLlm(opts.reply, opts.llmFirstMs, opts.llmTokenMs, marks),
    tts: new MockSpeechTts(opts.ttsFirstMs, marks),
    turnHandling: {
      turnDetection: 'vad',
      endpointing: { minDelay: opts.minDelay, maxDelay: 3000 },
      // Barge-in as configured (mode vad: the adaptive mode needs a model download); off, LiveKit holds caller audio back while it speaks.
      interruption: opts.bargeIn ? { enabled: true, mode: 'vad' } : { enabled: false },
      preemptiveGeneration: { enabled: !!opts.preemptive },
    },
  });
  session.input.audio = input;
  session.output.audio = new PacedAudioOutput(pacer, (f) => line.receive(f));
  await session.start({ agent: new voice.Agent({ instructions: 'bench' }) });
  return { session, line, marks, input };
}

const REPLY = 'Okay, noted.';

/** Turns through N sessions; framework latency (zero delays) or voice-to-voice with its breakdown (modelled delays). */
async function runTurns(j) {
  const d = j.delays ?? { sttMs: 0, llmFirstMs: 0, llmTokenMs: 0, ttsFirstMs: 0 };
  const pacer = new SharedPacer();
  const byCall = new Map();
  const opts = {
    ...d,
    reply: REPLY,
    minDelay: j.endOfSpeechMs,
    preemptive: j.preemptive,
    batchStt: j.stt === 'batch',
    preflight: j.preflight,
    onEndpointDue: (callId, due) => byCall.get(callId)?.endpointed(due),
  };
  const sessions = [];
  const callers = [];
  const t0 = performance.now();
  for (let i = 0; i < j.calls; i++) {
    const s = await startSession(i, opts, pacer, undefined);
    const c = new SimCaller(s.line, j.callerText ?? 'hi', 0, 0, t0 + 1000 + i * 37, j.turns);
    byCall.set(s.line.callId, c);
    sessions.push(s);
    callers.push(c);
  }
  const deadline = performance.now() + j.timeoutMs;
  await runTicker(callers, () => callers.every((c) => c.done) || performance.now() > deadline);
  pacer.stop();
  const framework = callers.flatMap((c) => c.stats.latencies);
  const v2v = callers.flatMap((c) => c.stats.fromSpeechEnd);
  const breakdown = [];
  sessions.forEach((s, k) => {
    const c = callers[k];
    // One mark set per VAD end-of-speech; SimCaller keeps one v2v per reply, in the same order.
    const turns = s.marks.turns.filter((t) => t.ttsFirst !== undefined);
    const n = Math.min(turns.length, c.stats.fromSpeechEnd.length);
    for (let i = 0; i < n; i++) {
      const t = turns[i];
      const total = c.stats.fromSpeechEnd[i];
      const spokeEnd = t.lastVoiced;
      const endpoint = t.due - spokeEnd;
      const ready = spokeEnd + endpoint;
      const stt = Math.max(0, (t.sttFinal ?? ready) - ready);
      // The model's own time on the critical path: from the later of its start and the turn being ready, to the token ending the first sentence.
      const llmMs = Math.max(0, (t.llmSentence ?? t.ttsStart) - Math.max(t.llmStart ?? ready, ready + stt));
      const ttsMs = t.ttsFirst - t.ttsStart;
      breakdown.push({ total, endpointing: endpoint, stt, llm: llmMs, tts: ttsMs, framework: total - endpoint - stt - llmMs - ttsMs });
    }
  });
  await Promise.all(sessions.map((s) => s.session.close().catch(() => {})));
  const early = callers.reduce((n, c) => n + c.stats.early, 0);
  return { framework, v2v, breakdown, early };
}

async function runConcurrency(j) {
  const pacer = new SharedPacer();
  const wire = new WireStats();
  wire.measureCallerAtWrite = false;
  return measureWindow({
    calls: j.calls,
    warmupMs: j.warmupMs,
    measureMs: j.measureMs,
    turnEveryMs: j.turnEveryMs,
    wire,
    // The simulated callers, the fakes and this file (absolute: the checkout itself may sit under a folder named bench).
    profileSimUrls: ['dist/bench/', 'dist/plugins/mock/', 'dist/plugins/energy/'].map((p) => new URL(p, ROOT).href).concat(import.meta.url),
    place: async (i) => (await startSession(i, { sttMs: 200, llmFirstMs: 350, llmTokenMs: 20, ttsFirstMs: 150, reply: REPLY, minDelay: j.endOfSpeechMs, bargeIn: true }, pacer, wire)).line,
    stop: async () => pacer.stop(),
  });
}

const out = job.mode === 'concurrency' ? await runConcurrency(job) : await runTurns(job);
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
