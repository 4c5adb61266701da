/**
 * Several RingCentral lines (extensions) in one process: one SDK login and
 * one WebPhone registration per line, each a full RingCentralTelephony. The
 * core sees one telephony plugin; inbound calls from every line reach its
 * handler (tagged `meta.line`), outbound calls go out on a chosen line.
 */
import { VoicebotError } from '../../core/plugin-api.js';
import { silentLogger, type Logger, type PluginContext } from '../../core/plugin-api.js';
import { TelephonyPlugin, type CallInfo, type CallLeg, type DialOptions, type IncomingCall, type TelephonyCapabilities } from '../../core/plugin-api.js';
import { RingCentralTelephony, type RingCentralLineOptions, type RingCentralOptions } from './plugin.js';

export interface Line {
  readonly name: string;
  readonly callerId: string | undefined;
  readonly plugin: RingCentralTelephony;
}

export class RingCentralLines extends TelephonyPlugin {
  readonly capabilities: TelephonyCapabilities = { transfer: true, sendDtmf: true, receiveDtmf: true, placeCalls: false, outbound: true, bridge: true };
  readonly lines: readonly Line[];
  private readonly log: Logger;

  constructor(opts: RingCentralOptions & { lines: RingCentralLineOptions[] }, ctx: Partial<PluginContext> = {}, provider = 'ringcentral') {
    super(provider);
    this.log = ctx.logger ?? silentLogger();
    const { lines, ...shared } = opts;
    this.lines = lines.map((l, i) => {
      const { name = `line${i + 1}`, ...own } = l;
      const o: RingCentralOptions = { ...shared, ...own };
      return { name, callerId: o.callerId, plugin: new RingCentralTelephony(o, { logger: this.log.child({ line: name }) }) };
    });
  }

  /** Per line: the SIP client's current proxy and the webhook URL. */
  get status(): { line: string; proxy?: string; webhookUrl?: string }[] {
    return this.lines.map((l) => ({ line: l.name, ...l.plugin.status }));
  }

  protected override async _start(): Promise<void> {
    const started: Line[] = [];
    try {
      for (const line of this.lines) {
        await line.plugin.listen({
          onIncomingCall: (call: IncomingCall) => {
            call.info.meta.line = line.name;
            const h = this.callHandler;
            if (h) h.onIncomingCall(call);
            else void call.reject('unavailable').catch(() => undefined);
          },
          onStateChange: (state, detail) => this.callHandler?.onStateChange?.(state, `line ${line.name}${detail ? `: ${detail}` : ''}`),
        });
        started.push(line);
        this.log.info({ line: line.name }, `ringcentral line ${line.name} registered`);
      }
    } catch (e) {
      // A half-started set of lines would answer on some numbers only: all or none.
      await Promise.all(started.map((l) => l.plugin.stop().catch(() => undefined)));
      this.log.error({ line: this.lines[started.length]!.name, code: (e as VoicebotError).code }, `ringcentral line ${this.lines[started.length]!.name} did not start: ${(e as Error).message}`);
      throw e;
    }
  }

  /**
   * The line for a call the bot places: `meta.line` names one, else the line
   * whose callerId is the wanted caller id, else the first line.
   */
  lineFor(opts: Pick<DialOptions, 'callerId' | 'meta'> & { to?: string }): Line {
    const byName = opts.meta?.line;
    if (byName !== undefined) {
      const l = this.lines.find((x) => x.name === byName);
      if (!l) throw new VoicebotError('VB_ERR_OUTBOUND_FAILED', { to: opts.to ?? '?', detail: `no RingCentral line named "${byName}" (lines: ${this.lines.map((x) => x.name).join(', ')})` });
      return l;
    }
    const digits = (s: string | undefined) => s?.replace(/\D/g, '');
    const want = digits(opts.callerId);
    return (want && this.lines.find((x) => digits(x.callerId) === want)) || this.lines[0]!;
  }

  protected override _dial(opts: DialOptions): Promise<CallLeg> {
    let line: Line;
    try {
      line = this.lineFor(opts);
    } catch (e) {
      return Promise.reject(e);
    }
    return line.plugin.dial({ ...opts, meta: { ...opts.meta, line: line.name } });
  }

  /** Warm transfer bridges two calls of one line (REST call control is per extension). */
  protected override _bridge(a: CallInfo, b: CallInfo): Promise<void> {
    const line = this.lines.find((l) => l.name === a.meta.line) ?? this.lines[0]!;
    return line.plugin.bridge(a, b);
  }

  protected override async _stop(): Promise<void> {
    await Promise.all(this.lines.map((l) => l.plugin.stop().catch((e: unknown) => this.log.warn({ line: l.name, err: (e as Error).message }, 'ringcentral line stop failed'))));
  }
}
