/**
 * The one source of the voicebot.yaml schema: ajv validates with it at boot,
 * and buildEditorSchema() turns it into voicebot.schema.json for editors.
 * Durations carry the custom keyword `duration: true` (ajv checks them with
 * core/config/duration.ts; the editor schema gets a pattern instead).
 */
import { STEP_KINDS, type StepKind } from './types.js';

type Schema = Record<string, unknown>;

const DURATION_PATTERN = '^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)?\\s*$';
export const duration = (description: string): Schema => ({ duration: true, description });
const str = (description: string): Schema => ({ type: 'string', description });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const target = (description: string): Schema => ({ type: 'string', minLength: 1, description: `${description} (step or flow.step)` });
const obj = (properties: Record<string, Schema>, required: string[] = [], description?: string): Schema => ({
  type: 'object',
  properties,
  ...(required.length ? { required } : {}),
  additionalProperties: false,
  ...(description ? { description } : {}),
});
const textOrList = (description: string): Schema => ({ type: ['string', 'array'], items: { type: 'string' }, description });

export const HANDLERS_SCHEMA = obj(
  {
    dtmf: { type: 'object', additionalProperties: { type: 'string' }, propertyNames: { pattern: '^[0-9*#A-D]$' }, description: 'hotkeys: digit → target' },
    error: target('run on any slot or step failure'),
    hangup: target('run when the caller hangs up'),
    noInput: target('run when a listen step gets no input'),
    workerLost: target('fleet: where a call re-dispatched after its worker was lost goes on (default: the step it was in)'),
  },
  [],
  'event handlers; lookup order step → flow → global',
);

const HTTP_PROPS: Record<string, Schema> = {
  method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], description: 'default GET' },
  url: str('templated URL'),
  headers: { type: 'object', additionalProperties: { type: 'string' } },
  body: { description: 'templated; objects are sent as JSON' },
  timeout: duration('default 10s'),
};

const ROUTE = obj(
  {
    dtmf: str('digits that select this route'),
    regex: str('regular expression on the recognised text; (?i) makes it case-insensitive'),
    equals: str('exact text (case-insensitive)'),
    intent: str('short description classified by the llm slot'),
    goto: target('where to go'),
  },
  ['goto'],
);

const LISTEN_SHARED: Record<string, Schema> = {
  save: str('save the caller input under this name'),
  routes: { type: 'array', items: ROUTE },
  else: target('when no route matches'),
  exhausted: target('after retries run out'),
  noInput: textOrList('said when the caller says nothing (one per retry)'),
  noMatch: textOrList('said when nothing matches (one per retry)'),
};

/** For each step kind: the schema of its kind key's value, and the extra step-level keys it allows. */
export const STEP_KIND_SCHEMAS: Record<StepKind, { body: Schema; stepKeys: Record<string, Schema>; required?: string[] }> = {
  say: { body: str('text to speak; {{templates}} allowed'), stepKeys: { bargeIn: bool('let the caller interrupt') } },
  play: { body: obj({ file: str('WAV file relative to the config'), url: str('WAV URL') }), stepKeys: { bargeIn: bool('let the caller interrupt') } },
  listen: {
    body: obj({
      prompt: str('said before listening'),
      input: { type: 'array', items: { enum: ['speech', 'dtmf'] }, minItems: 1, uniqueItems: true },
      numDigits: { type: 'integer', minimum: 1 },
      finishOnKey: { type: 'string', pattern: '^[0-9*#]$' },
      timeout: duration('silence before noInput (default settings.timeouts.noInput)'),
      retries: { type: 'integer', minimum: 0, description: 'default 2' },
      bargeIn: bool('let the caller interrupt the prompt'),
      ...LISTEN_SHARED,
    }),
    stepKeys: LISTEN_SHARED,
  },
  llm: {
    body: obj(
      {
        system: str('system prompt; {{templates}} allowed'),
        tools: { type: 'array', items: { type: 'string' }, description: 'names from top-level tools' },
        context: { enum: ['append', 'reset'], description: 'keep (append) or drop (reset) the conversation so far' },
        maxTurns: { type: 'integer', minimum: 1 },
        say: str('first line said when the step starts'),
        bargeIn: bool('let the caller interrupt'),
        exits: {
          type: 'array',
          items: obj({ tool: str('leave after this tool ran'), maxTurns: { const: true }, intent: str('leave when the caller means this'), goto: target('where to go') }, ['goto']),
        },
      },
      ['system'],
    ),
    stepKeys: {},
  },
  branch: {
    body: {
      type: 'array',
      minItems: 1,
      items: obj(
        { var: str('variable name (dotted path allowed)'), equals: {}, in: { type: 'array' }, matches: str('regular expression'), exists: { type: 'boolean' }, goto: target('where to go') },
        ['var', 'goto'],
      ),
    },
    stepKeys: { else: target('when no condition holds') },
    required: ['else'],
  },
  set: { body: { type: 'object', description: 'name: value (templated)' }, stepKeys: {} },
  goto: { body: target('jump'), stepKeys: {} },
  http: { body: obj(HTTP_PROPS, ['url']), stepKeys: { save: str('save the response (JSON or text)'), onError: target('on a failed request') } },
  transfer: {
    body: {
      anyOf: [
        str('number to transfer to'),
        obj({ to: str('number or SIP URI'), mode: { const: 'blind' }, announce: str('said before transferring'), timeout: duration('wait for the far end') }, ['to']),
      ],
    },
    stepKeys: { onFail: target('when the transfer fails') },
  },
  hangup: { body: { type: ['string', 'null', 'boolean'], description: 'text said before hanging up' }, stepKeys: {} },
};

export function stepSchema(kind: StepKind): Schema {
  const k = STEP_KIND_SCHEMAS[kind];
  return {
    type: 'object',
    properties: { [kind]: k.body, next: target('following step (default: the next in file order)'), on: HANDLERS_SCHEMA, ...k.stepKeys },
    required: [kind, ...(k.required ?? [])],
    additionalProperties: false,
  };
}

const PROVIDER: Schema = {
  type: 'object',
  properties: { provider: str('built-in name, npm package, or ./path.js relative to this file') },
  required: ['provider'],
  description: 'provider options are checked against the plugin’s own schema',
};
const SLOT = (description: string): Schema => ({ anyOf: [PROVIDER, { type: 'array', items: PROVIDER, minItems: 1 }], description });

const TOOL = obj(
  {
    description: str('what the tool does (shown to the model)'),
    params: { type: 'object', description: 'JSON schema of the arguments, or a map name → type' },
    http: obj(HTTP_PROPS, ['url']),
    handler: { type: 'string', pattern: '^\\.{1,2}/.+#\\w+$', description: './file.js#export' },
  },
  ['description'],
);

/** The top-level schema. `steps` values are validated per kind (stepSchema) after the kind is known. */
export const CONFIG_SCHEMA: Schema = obj(
  {
    version: { const: 1, description: 'config format version' },
    plugins: obj({
      telephony: SLOT('phone system'),
      audioStream: SLOT('carries call audio (default inprocess)'),
      vad: SLOT('voice activity detection (default energy)'),
      stt: SLOT('speech to text; a list is a fallback chain'),
      llm: SLOT('language model; a list is a fallback chain'),
      tts: SLOT('text to speech; a list is a fallback chain'),
    }),
    settings: obj({
      language: str('BCP-47 language tag, default en-US'),
      bargeIn: obj({ enabled: bool('default true'), minSpeechMs: { type: 'number', minimum: 0 } }),
      timeouts: obj({ noInput: duration('default 6s'), endOfSpeech: duration('default 600ms'), maxCall: duration('default 15m') }),
      recording: obj({ enabled: bool('default false'), dir: str('default ./recordings') }),
      sampleRate: { enum: ['auto', 8000, 16000, 24000, 48000], description: 'engine rate; default auto (the call\'s own rate when VAD and STT take it)' },
      server: obj({ host: str('default 127.0.0.1'), port: { type: 'integer', minimum: 0, maximum: 65535 } }),
      ops: obj(
        { host: str('default 127.0.0.1'), port: { type: 'integer', minimum: 0, maximum: 65535, description: 'default 9464; 0 picks a free one' } },
        [],
        'ops HTTP server (/healthz, /readyz, /metrics); off unless present',
      ),
      fleet: obj(
        {
          redis: { type: 'string', pattern: '^rediss?://', description: 'worker registry, e.g. redis://127.0.0.1:6379 (a worker registers there, an edge dispatches from it)' },
          keyPrefix: str('Redis key prefix, default voicebot'),
          capacity: { type: 'integer', minimum: 0, description: 'worker: most concurrent calls (default 0: no limit); more are refused' },
          advertiseUrl: { type: 'string', pattern: '^wss?://', description: 'worker: the stream URL edges dial (default the listen address)' },
          heartbeat: duration('worker: registry heartbeat period (default 1s)'),
          ttl: duration('worker: registry entry lifetime without a heartbeat (default 5s)'),
          drainTimeout: duration('on SIGTERM: how long live calls may finish (default 5m)'),
          drainMessage: str('said to callers still on the line when drainTimeout ends'),
          dispatchBudget: duration('edge: time to place a call on a worker, retries included (default 3s)'),
        },
        [],
        'several edges and workers; see README "Running a fleet"',
      ),
    }),
    vars: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] }, description: 'names for {{templates}}' },
    tools: { type: 'object', additionalProperties: TOOL },
    on: HANDLERS_SCHEMA,
    flows: {
      type: 'object',
      minProperties: 1,
      additionalProperties: obj(
        {
          start: target('first step (default: the first step)'),
          on: HANDLERS_SCHEMA,
          steps: { type: 'object', minProperties: 1, additionalProperties: { type: 'object' } },
        },
        ['steps'],
      ),
    },
    routes: { type: 'array', items: obj({ to: str('called number, or * for any'), flow: str('flow name') }, ['to', 'flow']) },
  },
  ['version', 'flows'],
);

/** voicebot.schema.json: the same schema for editors (steps as a oneOf over kinds). */
export function buildEditorSchema(): Schema {
  const replace = (s: unknown): unknown => {
    if (Array.isArray(s)) return s.map(replace);
    if (s && typeof s === 'object') {
      const o = s as Record<string, unknown>;
      if (o.duration === true) return { anyOf: [{ type: 'number', minimum: 0 }, { type: 'string', pattern: DURATION_PATTERN }], description: o.description };
      return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, replace(v)]));
    }
    return s;
  };
  const schema = replace(structuredClone(CONFIG_SCHEMA)) as Schema;
  const flows = (schema.properties as Record<string, Schema>).flows;
  const flow = flows.additionalProperties as Schema;
  (flow.properties as Record<string, Schema>).steps = {
    type: 'object',
    minProperties: 1,
    additionalProperties: { oneOf: STEP_KINDS.map((k) => replace(stepSchema(k))) },
  };
  return { $schema: 'http://json-schema.org/draft-07/schema#', $id: 'https://voicebot.dev/voicebot.schema.json', title: 'voicebot.yaml', ...schema };
}
