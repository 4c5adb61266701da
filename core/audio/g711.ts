/**
 * G.711 μ-law and A-law (ITU-T G.711). Table driven: a 64K-entry encode table
 * and a 256-entry decode table per law, built once, so a 20 ms frame is a
 * plain indexed copy with no branching.
 */

const BIAS = 0x84;
const CLIP = 32635;

export function linearToMulaw(sample: number): number {
  let s = sample | 0;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  return sign ? -magnitude : magnitude;
}

const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** Sun/CCITT reference algorithm on the 13-bit magnitude. */
export function linearToAlaw(sample: number): number {
  let v = (sample | 0) >> 3;
  let mask: number;
  if (v >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    v = -v - 1;
  }
  let seg = 0;
  while (seg < 8 && v > ALAW_SEG_END[seg]) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f);
  return aval ^ mask;
}

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else {
    t += 0x108;
    t <<= seg - 1;
  }
  return a & 0x80 ? t : -t;
}

const MULAW_ENC = new Uint8Array(65536);
const ALAW_ENC = new Uint8Array(65536);
const MULAW_DEC = new Int16Array(256);
const ALAW_DEC = new Int16Array(256);
for (let i = 0; i < 65536; i++) {
  const s = i - 32768;
  MULAW_ENC[i] = linearToMulaw(s);
  ALAW_ENC[i] = linearToAlaw(s);
}
for (let i = 0; i < 256; i++) {
  MULAW_DEC[i] = mulawToLinear(i);
  ALAW_DEC[i] = alawToLinear(i);
}

function encode(table: Uint8Array, pcm: Int16Array, out?: Uint8Array): Uint8Array {
  const dst = out && out.length >= pcm.length ? out.subarray(0, pcm.length) : new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) dst[i] = table[pcm[i] + 32768];
  return dst;
}

function decode(table: Int16Array, bytes: Uint8Array, out?: Int16Array): Int16Array {
  const dst = out && out.length >= bytes.length ? out.subarray(0, bytes.length) : new Int16Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) dst[i] = table[bytes[i]];
  return dst;
}

/** With `out`, writes into it and returns a view of the right length (no allocation). */
export const mulawEncode = (pcm: Int16Array, out?: Uint8Array): Uint8Array => encode(MULAW_ENC, pcm, out);
export const mulawDecode = (bytes: Uint8Array, out?: Int16Array): Int16Array => decode(MULAW_DEC, bytes, out);
export const alawEncode = (pcm: Int16Array, out?: Uint8Array): Uint8Array => encode(ALAW_ENC, pcm, out);
export const alawDecode = (bytes: Uint8Array, out?: Int16Array): Int16Array => decode(ALAW_DEC, bytes, out);
