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
    machine: target('outbound call with amd: an answering machine took it (runs after the beep)'),
    human: target('outbound call with amd: a person answered'),
    unknown: target('outbound call with amd: no decision before amd.timeout'),
    workerLost: target('fleet: where a call re-dispatched after its worker was lost goes on (default: the step it was in)'),
  },
  [],
  'event handlers; lookup order step → flow → global',
);

const HTTP_PROPS: Record<string, Schema> = {
  method: { enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], description: 'default GET' },
  url: str('templated URL; values are percent-encoded except a leading {{base}} and {{name|raw}}'),
  headers: { type: 'object', additionalProperties: { type: 'string' } },
  body: { description: 'templated; objects are sent as JSON' },
  timeout: duration('whole request including the response body; default 10s'),
  maxBytes: { type: 'integer', minimum: 1, description: 'largest response body read; default 1048576 (1 MiB)' },
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

/** A step's `bargeIn`: on/off, or on with the step's own interruption rule. */
const BARGE_IN: Schema = {
  anyOf: [
    bool('let the caller interrupt'),
    obj(
      {
        backchannels: bool('backchannels ("okay", "yeah") count as words and stop this prompt (a yes/no question)'),
        minWords: { type: 'integer', minimum: 0, description: 'words that stop this prompt (default settings.turn.interruption.minWords)' },
      },
      [],
      'let the caller interrupt, with this step\'s own rule',
    ),
  ],
  description: 'let the caller interrupt (true/false), or an object with this step\'s own rule',
};

/** settings.turn.interruption: how speech over the bot is judged (README "Turn-taking" → "Interruptions"). */
const INTERRUPTION: Schema = obj(
  {
    minWords: { type: 'integer', minimum: 0, description: 'words (backchannels not counted) that stop the bot, when the STT gives words; 0: the VAD alone stops it. Default 1' },
    backchannels: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'words that do not stop the bot; default [mhm, uh-huh, yeah, okay, right]' },
    falseInterruption: duration('an onset with no words this long resumes the bot where it paused; default 1s'),
    mode: { enum: ['pause', 'duck'], description: 'what the bot does at an onset: pause (default) or duck (go on quieter)' },
  },
  [],
  'interruptions that forgive: an onset pauses the bot, words stop it, none resume it',
);

/** For each step kind: the schema of its kind key's value, and the extra step-level keys it allows. */
export const STEP_KIND_SCHEMAS: Record<StepKind, { body: Schema; stepKeys: Record<string, Schema>; required?: string[] }> = {
  say: { body: str('text to speak; {{templates}} allowed'), stepKeys: { bargeIn: BARGE_IN } },
  play: {
    body: obj({
      file: str('WAV file relative to the config; a templated path stays inside the directory it names'),
      url: str('WAV URL'),
      timeout: duration('url: whole download; default 10s'),
      maxBytes: { type: 'integer', minimum: 1, description: 'url: largest download; default 20971520 (20 MiB)' },
    }),
    stepKeys: { bargeIn: bool('let the caller interrupt') },
  },
  listen: {
    body: obj({
      prompt: str('said before listening'),
      input: { type: 'array', items: { enum: ['speech', 'dtmf'] }, minItems: 1, uniqueItems: true },
      numDigits: { type: 'integer', minimum: 1 },
      finishOnKey: { type: 'string', pattern: '^[0-9*#]$' },
      timeout: duration('silence before noInput (default settings.timeouts.noInput)'),
      retries: { type: 'integer', minimum: 0, description: 'default 2' },
      bargeIn: BARGE_IN,
      endpoint: obj({ min: duration('silence that ends a turn whose words look complete (default settings.turn.minEndpoint)'), max: duration('silence that ends a turn mid-phrase (default settings.turn.maxEndpoint)') }, [], 'this step\'s endpointing'),
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
        bargeIn: BARGE_IN,
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
        obj(
          {
            to: str('number or SIP URI'),
            mode: { enum: ['blind', 'warm'], description: 'blind (default) or warm: call the agent, say the summary, then connect' },
            announce: str('said before transferring'),
            timeout: duration('wait for the far end'),
            summary: str('warm: what the agent hears first; {{templates}} allowed'),
            summarize: { type: ['boolean', 'string'], description: 'warm: the llm writes the summary from the conversation (a string adds to its instruction)' },
            hold: str('warm: WAV the caller hears meanwhile (default: a soft chime)'),
          },
          ['to'],
        ),
      ],
    },
    stepKeys: { onFail: target('when the transfer fails') },
  },
  hangup: { body: { type: ['string', 'null', 'boolean'], description: 'text said before hanging up' }, stepKeys: {} },
  dial: {
    body: {
      anyOf: [
        str('number to call'),
        obj(
          {
            to: str('number to call; {{templates}} allowed'),
            flow: str('flow the new call runs (default: routes with direction outbound)'),
            vars: { type: 'object', description: 'vars of the new call (templated)' },
            callerId: str('caller id shown to the callee'),
          },
          ['to'],
        ),
      ],
    },
    stepKeys: { save: str('save the new call id'), onFail: target('when the call cannot be placed') },
  },
  sendDigits: { body: { type: 'string', pattern: '^[0-9*#A-Dw]+$', description: 'DTMF to send; w waits 0.5 s' }, stepKeys: {} },
};

export const AMD_SCHEMA: Schema = obj(
  { timeout: duration('decide within (default 5s)'), beepTimeout: duration('wait for the beep after a machine (default 20s)') },
  [],
  'answering-machine detection for outbound calls ({} for the defaults); handlers on.human / on.machine / on.unknown',
);

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
    timeout: duration('the whole run (handler or http) before the model gets VB_ERR_TOOL_TIMEOUT; default 10s'),
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
      vad: SLOT('voice activity detection (default auto: silero when its optional packages load, else energy)'),
      stt: SLOT('speech to text; a list is a fallback chain'),
      llm: SLOT('language model; a list is a fallback chain'),
      tts: SLOT('text to speech; a list is a fallback chain'),
    }),
    settings: obj({
      language: str('BCP-47 language tag, default en-US'),
      bargeIn: obj({ enabled: bool('default true'), minSpeechMs: { type: 'number', minimum: 0, description: 'ms of speech over the bot (one voiced run) that is an onset: the bot pauses; default 250' } }),
      timeouts: obj({
        noInput: duration('default 6s'),
        endOfSpeech: duration('default 600ms'),
        maxCall: duration('default 15m'),
        shutdown: duration('on stop, wait this long for active calls before ending them; default 10s'),
      }),
      turn: obj({
        minEndpoint: duration('silence that ends a turn whose words look complete; default 200ms'),
        maxEndpoint: duration('silence that ends a turn mid-phrase (trailing "and", digits still coming); default 1500ms'),
        preemptive: bool('start the LLM on a stable transcript before the endpoint; default true'),
        interruption: INTERRUPTION,
      }, [], 'turn-taking; without it, a set timeouts.endOfSpeech is a fixed timer'),
      recording: obj({ enabled: bool('default false'), dir: str('default ./recordings') }),
      sampleRate: { enum: ['auto', 8000, 16000, 24000, 48000], description: 'engine rate; default auto (the call\'s own rate when VAD and STT take it)' },
      server: obj({ host: str('default 127.0.0.1'), port: { type: 'integer', minimum: 0, maximum: 65535 } }),
      fallback: obj({
        attempt: duration('chains: wait for one provider\'s first result before the next; default 4s'),
        budget: duration('chains: longest silence across the whole chain before on.error; default 8s'),
        onAuthError: bool('chains: also move on after 401/403 (default false)'),
      }),
      hold: obj(
        { file: str('WAV played while a slow http step runs (default: a soft bundled chime)'), after: duration('start it after the step ran this long (default 800ms)') },
        [],
        'hold audio while the bot waits on an http step',
      ),
      api: obj(
        {
          token: { type: 'string', minLength: 16, description: 'bearer token; the API is off without it (use ${VOICEBOT_API_TOKEN})' },
          host: str('interface to bind (default 127.0.0.1)'),
          port: { type: 'integer', minimum: 0, maximum: 65535, description: 'default 8090' },
          outbound: obj({
            maxConcurrent: { type: 'integer', minimum: 1, description: 'outbound calls at once (default 5)' },
            perMinute: { type: 'integer', minimum: 1, description: 'outbound calls started per minute (default 30)' },
            ringTimeout: duration('ring before no-answer (default 30s)'),
          }),
        },
        [],
        'HTTP API of voicebot run (POST /v1/calls...)',
      ),
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
          noWorker: obj(
            { play: str('WAV file (relative to this config) the edge plays before hanging up') },
            ['play'],
            'edge: answer a call no worker can take, play a message, hang up (default: do not answer)',
          ),
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
          amd: AMD_SCHEMA,
          steps: { type: 'object', minProperties: 1, additionalProperties: { type: 'object' } },
        },
        ['steps'],
      ),
    },
    routes: {
      type: 'array',
      items: obj({ to: str('called number, or * for any'), flow: str('flow name'), direction: { enum: ['inbound', 'outbound'], description: 'calls of this direction only (default inbound)' } }, ['to', 'flow']),
    },
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
