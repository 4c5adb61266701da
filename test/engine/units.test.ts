import { describe, expect, it } from 'vitest';
import { CallState, canTransition, transition } from '../../core/engine/call-state.js';
import { heardText, type Segment } from '../../core/engine/playback.js';
import { SentenceSplitter, splitSentences } from '../../core/engine/sentence-splitter.js';

describe('SentenceSplitter', () => {
  it('cuts complete sentences as tokens stream in, not at decimals, abbreviations or initials', () => {
    const s = new SentenceSplitter();
    const out: string[] = [];
    for (const tok of 'Hi there! Dr. Smith paid 3.50 dollars on Jan. 5. J. R. R. Tolkien wrote it. Is that all? Ok'.split(/(?<= )/)) out.push(...s.push(tok));
    expect(out).toEqual(['Hi there!', 'Dr. Smith paid 3.50 dollars on Jan. 5.', 'J. R. R. Tolkien wrote it.', 'Is that all?']);
    expect(s.flush()).toBe('Ok');
    expect(s.flush()).toBeUndefined();
  });

  it('waits for the character after a dot before deciding', () => {
    const s = new SentenceSplitter();
    expect(s.push('It costs 3.')).toEqual([]);
    expect(s.push('5 euros. ')).toEqual(['It costs 3.5 euros.']);
  });

  it('cuts a long clause early so TTS can start, but not a short one', () => {
    expect(splitSentences('Well, yes.')).toEqual(['Well, yes.']);
    const long = 'When you call us again about the order you placed last week, please have the number ready.';
    expect(splitSentences(long, { minClauseChars: 40 })).toEqual([
      'When you call us again about the order you placed last week,',
      'please have the number ready.',
    ]);
  });
});

describe('call state', () => {
  it('allows the drawn transitions and throws VB_ERR_CALL_STATE on others', () => {
    expect(canTransition(CallState.Active, CallState.Transferring)).toBe(true);
    expect(canTransition(CallState.Transferring, CallState.Active)).toBe(true);
    expect(transition('c1', CallState.Ending, CallState.Ended)).toBe(CallState.Ended);
    expect(() => transition('c1', CallState.Ended, CallState.Active)).toThrow(expect.objectContaining({ code: 'VB_ERR_CALL_STATE' }));
    expect(() => transition('c1', CallState.Ringing, CallState.Active)).toThrow(/cannot move to active in state ringing/);
  });
});

describe('heardText', () => {
  const seg = (over: Partial<Segment>): Segment => ({ text: 'one two three', round: 0, startMs: 1000, durationMs: 900, words: [], complete: true, ...over });
  it('uses word timings when present', () => {
    const words = [
      { word: 'one', startMs: 0, endMs: 250 },
      { word: 'two', startMs: 300, endMs: 550 },
      { word: 'three', startMs: 600, endMs: 900 },
    ];
    expect(heardText(seg({ words }), 1000 + 560)).toBe('one two');
    expect(heardText(seg({ words }), 1000 + 200)).toBe('');
    expect(heardText(seg({ words }), Infinity)).toBe('one two three');
  });
  it('estimates from played vs synthesized ms without timings, to whole words', () => {
    expect(heardText(seg({}), 1000 + 600)).toBe('one two');
    expect(heardText(seg({}), 1000 + 100)).toBe('');
  });
});
