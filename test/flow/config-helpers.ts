import { DEFAULT_SETTINGS } from '../../core/config/normalize.js';
import type { FlowConfig, Handlers, Step, ToolConfig, VoicebotConfig } from '../../core/config/types.js';

type StepInput = { name: string; kind: Step['kind'] } & Record<string, unknown>;

const STEP_DEFAULTS: Record<string, Record<string, unknown>> = {
  listen: { input: ['speech', 'dtmf'], retries: 2, noInput: [], noMatch: [], routes: [] },
  llm: { tools: [], context: 'append', exits: [], system: 'You are a test.' },
  http: { method: 'GET', headers: {}, timeoutMs: 2000 },
  transfer: { mode: 'blind' },
  branch: { cases: [] },
  set: { values: {} },
};
const TERMINAL = new Set(['goto', 'hangup', 'transfer']);

/**
 * A normalized config like core/config/load.ts produces, built in code so
 * runner tests do not depend on the YAML surface syntax.
 */
export function makeFlow(name: string, steps: StepInput[], on: Handlers = {}): FlowConfig {
  const out: Record<string, Step> = {};
  steps.forEach((s, i) => {
    const following = steps[i + 1];
    const next = 'next' in s ? (s.next as string | undefined) : !TERMINAL.has(s.kind) && following ? `${name}.${following.name}` : undefined;
    out[s.name] = { ...STEP_DEFAULTS[s.kind], on: {}, ...s, flow: name, next } as unknown as Step;
  });
  return { name, start: `${name}.${steps[0].name}`, on, steps: out };
}

export function makeConfig(
  flows: FlowConfig[],
  extra: { vars?: Record<string, string>; tools?: Record<string, Omit<ToolConfig, 'name'>>; on?: Handlers; dir?: string } = {},
): VoicebotConfig {
  const tools: Record<string, ToolConfig> = {};
  for (const [n, t] of Object.entries(extra.tools ?? {})) tools[n] = { name: n, ...t };
  return {
    version: 1,
    plugins: {},
    settings: {
      language: 'en-US',
      bargeIn: { enabled: true, minSpeechMs: 200 },
      timeouts: { noInput: 1000, endOfSpeech: 500, maxCall: 60000 },
      recording: { enabled: false, dir: 'recordings' },
      sampleRate: 16000,
      server: { host: '127.0.0.1', port: 0 },
      fleet: DEFAULT_SETTINGS('.').fleet,
    },
    vars: extra.vars ?? {},
    tools,
    flows: Object.fromEntries(flows.map((f) => [f.name, f])),
    routes: [],
    on: extra.on ?? {},
    source: { file: `${extra.dir ?? '/tmp'}/voicebot.yaml`, dir: extra.dir ?? '/tmp' },
    secretVars: [],
  };
}
