import { closeSync, openSync, writeSync } from 'node:fs';
import { VoicebotError } from '../errors/index.js';
import { alawDecode, mulawDecode } from './g711.js';

/** RIFF/WAVE PCM16. `samples` is interleaved when channels = 2. */
export function encodeWav(samples: Int16Array, sampleRate: number, channels = 1): Buffer {
  const data = samples.length * 2;
  const b = Buffer.alloc(44 + data);
  writeHeader(b, sampleRate, channels, data);
  for (let i = 0; i < samples.length; i++) b.writeInt16LE(samples[i], 44 + i * 2);
  return b;
}

function writeHeader(b: Buffer, sampleRate: number, channels: number, dataBytes: number): void {
  b.write('RIFF', 0, 'ascii');
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write('WAVE', 8, 'ascii');
  b.write('fmt ', 12, 'ascii');
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(channels, 22);
  b.writeUInt32LE(sampleRate, 24);
  b.writeUInt32LE(sampleRate * channels * 2, 28);
  b.writeUInt16LE(channels * 2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36, 'ascii');
  b.writeUInt32LE(dataBytes, 40);
}

export interface DecodedWav {
  samples: Int16Array;
  sampleRate: number;
  channels: number;
}

function bad(detail: string): VoicebotError {
  return new VoicebotError('VB_ERR_AUDIO_FORMAT', { where: 'WAV file', got: detail, expected: 'PCM16, μ-law or A-law WAV' });
}

/** Walks the chunks (LIST and odd padding tolerated); PCM16, μ-law (7) and A-law (6). */
export function decodeWav(input: Uint8Array): DecodedWav {
  const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  if (b.length < 12 || b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw bad('not a RIFF/WAVE file');
  let off = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (off + 8 <= b.length) {
    const id = b.toString('ascii', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
      if (fmt.format === 0xfffe && size >= 26) fmt.format = b.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!fmt) throw bad('data chunk before fmt chunk');
      const len = Math.min(size, b.length - body);
      const raw = b.subarray(body, body + len);
      if (fmt.format === 1 && fmt.bits === 16) {
        const samples = new Int16Array(len >> 1);
        for (let i = 0; i < samples.length; i++) samples[i] = raw.readInt16LE(i * 2);
        return { samples, sampleRate: fmt.rate, channels: fmt.channels };
      }
      if ((fmt.format === 7 || fmt.format === 6) && fmt.bits === 8) {
        const samples = fmt.format === 7 ? mulawDecode(raw) : alawDecode(raw);
        return { samples, sampleRate: fmt.rate, channels: fmt.channels };
      }
      throw bad(`format ${fmt.format} with ${fmt.bits} bits`);
    }
    off = body + size + (size & 1);
  }
  throw bad('no data chunk');
}

export function interleaveStereo(left: Int16Array, right: Int16Array): Int16Array {
  const n = Math.max(left.length, right.length);
  const out = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    out[2 * i] = i < left.length ? left[i] : 0;
    out[2 * i + 1] = i < right.length ? right[i] : 0;
  }
  return out;
}

/** Appends PCM16 to a file and patches the header sizes on close (call recordings). */
export class WavWriter {
  private fd: number;
  private bytes = 0;
  private readonly sampleRate: number;
  private readonly channels: number;

  constructor(file: string, sampleRate: number, channels = 1) {
    this.fd = openSync(file, 'w');
    this.sampleRate = sampleRate;
    this.channels = channels;
    const h = Buffer.alloc(44);
    writeHeader(h, sampleRate, channels, 0);
    writeSync(this.fd, h);
  }

  write(samples: Int16Array): void {
    const buf = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
    writeSync(this.fd, buf);
    this.bytes += buf.length;
  }

  close(): void {
    if (this.fd < 0) return;
    const h = Buffer.alloc(44);
    writeHeader(h, this.sampleRate, this.channels, this.bytes);
    writeSync(this.fd, h, 0, 44, 0);
    closeSync(this.fd);
    this.fd = -1;
  }
}
