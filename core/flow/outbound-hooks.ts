import type { AmdConfig, VoicebotConfig } from '../config/types.js';
import type { ChatMessage } from '../plugins/llm.js';
import type { CallInfo } from '../plugins/telephony.js';

/** What a flow asks for to place a call (the `dial` step), as the calls API takes it. */
export interface DialRequest {
  to: string;
  flow?: string;
  vars?: Record<string, unknown>;
  callerId?: string;
  /** Overrides the flow's `amd:`; false turns it off. */
  amd?: AmdConfig | boolean;
}

export type AmdOutcome = 'human' | 'machine' | 'unknown';

/** Per-call extras of a call the bot placed, for the flow runner. */
export interface CallSetup {
  /** Initial `vars` of the call (POST /v1/calls vars, dial step vars). */
  vars: Record<string, unknown>;
  /** Answering-machine detection: resolves once decided (for a machine: after the beep or beepTimeout). */
  amd?: Promise<AmdOutcome>;
  /** DTMF toward the far end (the leg's RFC 4733 / provider path). */
  sendDtmf?(digits: string): Promise<void>;
}

/**
 * What the flow runner may ask of the outbound service running next to it
 * (core/api/outbound-calls.ts). Scoped to one app by its config object, so
 * two apps in one process (tests) never see each other's calls, and core/flow
 * does not depend on the service.
 */
export interface OutboundHooks {
  /** Place a call; throws a coded error when it cannot (limits, number, provider). Returns the new call's id. */
  dial(req: DialRequest): { id: string };
  setupFor(callId: string): CallSetup | undefined;
  /**
   * Warm transfer of `caller`: call `to`, let them hear `summary`, then bridge
   * the two and leave. Rejects with VB_ERR_TRANSFER_FAILED (no answer, busy,
   * declined, the agent hung up) leaving the caller with the bot.
   */
  warmTransfer(caller: CallInfo, req: WarmTransferRequest): Promise<void>;
  /** One short paragraph for the agent, written by the llm slot from the conversation; rejects when there is no llm. */
  summarize(conversation: readonly ChatMessage[], instruction: string | undefined, signal?: AbortSignal): Promise<string>;
}

export interface WarmTransferRequest {
  to: string;
  summary?: string;
  ringTimeoutMs?: number;
  signal?: AbortSignal;
  /** Called once the agent heard the summary, just before the bridge (the caller's last moment with the bot). */
  onBridging?: () => void;
}

const HOOKS = new WeakMap<VoicebotConfig, OutboundHooks>();

export function setOutboundHooks(config: VoicebotConfig, hooks: OutboundHooks | undefined): void {
  if (hooks) HOOKS.set(config, hooks);
  else HOOKS.delete(config);
}

export function outboundHooks(config: VoicebotConfig): OutboundHooks | undefined {
  return HOOKS.get(config);
}
