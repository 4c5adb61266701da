// Softphone audio on the audio thread: one node captures the microphone (its
// input) and plays the bot (its output). The line runs at `lineRate` (PCM16,
// 20 ms frames); the AudioContext may run at another rate, so both directions
// go through a small linear resampler.

class Linear {
  constructor(from, to) {
    this.step = from / to;
    this.pos = 0;
    this.last = 0;
  }
  /** Float32Array in → Array of output samples. Continuous across calls. */
  process(input, out) {
    const n = input.length;
    if (this.step === 1) {
      for (let i = 0; i < n; i++) out.push(input[i]);
      return;
    }
    let pos = this.pos;
    while (pos <= n - 1) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const a = i < 0 ? this.last : input[i];
      const b = i + 1 < n ? input[i + 1] : a;
      out.push(a + (b - a) * frac);
      pos += this.step;
    }
    this.pos = pos - n;
    if (n) this.last = input[n - 1];
  }
}

class SoftphoneProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const lineRate = options.processorOptions.lineRate;
    this.frameLen = Math.round(lineRate / 50);
    this.up = new Linear(sampleRate, lineRate); // mic → line
    this.down = new Linear(lineRate, sampleRate); // line → speaker
    this.mic = [];
    this.queue = []; // Float32Arrays at the context rate
    this.head = 0; // read position in queue[0]
    this.queued = 0;
    this.started = false;
    this.prebuffer = Math.round(sampleRate * 0.04);
    this.played = 0;
    this.playedVoiced = 0;
    this.lastStats = 0;
    this.silence = new Float32Array(128);
    this.port.onmessage = (e) => {
      const m = e.data;
      if (m.type === 'play') this.enqueue(m.pcm);
      else if (m.type === 'clear') this.clear();
    };
  }

  enqueue(pcm) {
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    const out = [];
    this.down.process(f, out);
    this.queue.push(Float32Array.from(out));
    this.queued += out.length;
  }

  clear() {
    this.queue = [];
    this.head = 0;
    this.queued = 0;
    this.started = false;
  }

  process(inputs, outputs) {
    // Capture: silence when there is no microphone, so the line keeps its clock.
    const input = inputs[0] && inputs[0][0] ? inputs[0][0] : this.silence;
    this.up.process(input, this.mic);
    while (this.mic.length >= this.frameLen) {
      const pcm = new Int16Array(this.frameLen);
      for (let i = 0; i < this.frameLen; i++) {
        const v = Math.max(-1, Math.min(1, this.mic[i]));
        pcm[i] = v < 0 ? v * 32768 : v * 32767;
      }
      this.mic.splice(0, this.frameLen);
      this.port.postMessage({ type: 'mic', pcm }, [pcm.buffer]);
    }

    // Playback, with a 40 ms cushion after an underrun.
    const out = outputs[0][0];
    if (!this.started && this.queued >= this.prebuffer) this.started = true;
    let voiced = 0;
    for (let i = 0; i < out.length; i++) {
      let v = 0;
      if (this.started && this.queue.length) {
        const cur = this.queue[0];
        v = cur[this.head++];
        this.queued--;
        if (this.head >= cur.length) {
          this.queue.shift();
          this.head = 0;
        }
        this.played++;
        if (Math.abs(v) > 0.003) voiced++;
      }
      out[i] = v;
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    this.playedVoiced += voiced;
    if (this.started && this.queued <= 0) this.started = false;
    if (currentTime - this.lastStats > 0.25) {
      this.lastStats = currentTime;
      this.port.postMessage({ type: 'stats', played: this.played, playedVoiced: this.playedVoiced, queuedMs: (this.queued * 1000) / sampleRate });
    }
    return true;
  }
}

registerProcessor('softphone', SoftphoneProcessor);
