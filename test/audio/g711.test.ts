import { describe, expect, it } from 'vitest';
import alawmulaw from 'alawmulaw';
import { alawDecode, alawEncode, alawToLinear, linearToAlaw, linearToMulaw, mulawDecode, mulawEncode, mulawToLinear } from '../../core/audio/g711.js';

describe('G.711', () => {
  it('matches ITU-T reference points', () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(mulawToLinear(0x00)).toBe(-32124);
    expect(mulawToLinear(0x80)).toBe(32124);
    expect(mulawToLinear(0xff)).toBe(0);
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(alawToLinear(0xd5)).toBe(8);
    expect(alawToLinear(0x55)).toBe(-8);
  });

  it('agrees with alawmulaw on every 16-bit input', () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i - 32768;
    const mu = mulawEncode(all);
    const a = alawEncode(all);
    let muDiff = 0;
    let aDiff = 0;
    for (let i = 0; i < 65536; i++) {
      if (mu[i] !== (alawmulaw.mulaw.encodeSample(all[i]) & 0xff)) muDiff++;
      const theirs = alawmulaw.alaw.encodeSample(all[i]) & 0xff;
      // The two references round exact decision boundaries differently; only a
      // code that is farther from the input than theirs counts as a difference.
      if (a[i] !== theirs && Math.abs(alawToLinear(a[i]) - all[i]) > Math.abs(alawToLinear(theirs) - all[i])) aDiff++;
    }
    expect(muDiff).toBe(0);
    expect(aDiff).toBe(0);
    for (let b = 0; b < 256; b++) {
      expect(mulawDecode(new Uint8Array([b]))[0] === alawmulaw.mulaw.decodeSample(b)).toBe(true);
      expect(alawDecode(new Uint8Array([b]))[0] === alawmulaw.alaw.decodeSample(b)).toBe(true);
    }
  });

  it('round trips within the quantisation step and writes into a reused buffer', () => {
    const pcm = new Int16Array([0, 100, -100, 1000, -1000, 20000, -20000, 32767, -32768]);
    const out = new Uint8Array(160);
    const enc = mulawEncode(pcm, out);
    expect(enc.buffer).toBe(out.buffer);
    expect(enc.length).toBe(pcm.length);
    const dec = mulawDecode(enc);
    for (let i = 0; i < pcm.length; i++) expect(Math.abs(dec[i] - pcm[i])).toBeLessThanOrEqual(Math.max(8, Math.abs(pcm[i]) / 16));
    const decA = alawDecode(alawEncode(pcm));
    for (let i = 0; i < pcm.length; i++) expect(Math.abs(decA[i] - pcm[i])).toBeLessThanOrEqual(Math.max(16, Math.abs(pcm[i]) / 16));
  });
});
