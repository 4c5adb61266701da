import type { Step, StepKind } from '../../config/types.js';
import type { StepExecutor } from '../context.js';
import { runBranch } from './branch.js';
import { runGoto } from './goto.js';
import { runHangup } from './hangup.js';
import { runHttp } from './http.js';
import { runListen } from './listen.js';
import { runLlm } from './llm.js';
import { runPlay } from './play.js';
import { runSay } from './say.js';
import { runSet } from './set.js';
import { runTransfer } from './transfer.js';
import { runDial } from './dial.js';
import { runSendDigits } from './send-digits.js';

export const STEP_EXECUTORS: { [K in StepKind]: StepExecutor<Extract<Step, { kind: K }>> } = {
  say: runSay,
  play: runPlay,
  listen: runListen,
  llm: runLlm,
  branch: runBranch,
  set: runSet,
  goto: runGoto,
  http: runHttp,
  transfer: runTransfer,
  hangup: runHangup,
  dial: runDial,
  sendDigits: runSendDigits,
};

/** Kinds that need a live call; a hangup handler (the caller is gone) skips them. */
export const AUDIO_KINDS: ReadonlySet<StepKind> = new Set(['say', 'play', 'listen', 'llm', 'transfer', 'hangup', 'sendDigits']);
