export function rms(samples: Int16Array): number {
  let acc = 0;
  for (let i = 0; i < samples.length; i++) acc += samples[i] * samples[i];
  return samples.length ? Math.sqrt(acc / samples.length) : 0;
}

/** Level relative to full scale; silence is -Infinity. */
export function dbfs(samples: Int16Array): number {
  return 20 * Math.log10(rms(samples) / 32768);
}

export function concatInt16(parts: readonly Int16Array[]): Int16Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Int16Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Little-endian bytes → samples; copies when the view is not 2-byte aligned. */
export function pcm16FromBuffer(buf: Uint8Array): Int16Array {
  const n = buf.byteLength >> 1;
  if ((buf.byteOffset & 1) === 0) return new Int16Array(buf.buffer, buf.byteOffset, n);
  const copy = new Uint8Array(n * 2);
  copy.set(buf.subarray(0, n * 2));
  return new Int16Array(copy.buffer);
}

export function pcm16ToBuffer(samples: Int16Array): Buffer {
  return Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
}
