import type { DialStep } from '../../config/types.js';
import { VoicebotError, toVoicebotError } from '../../errors/index.js';
import { render, type StepExecutor } from '../context.js';
import { outboundHooks } from '../outbound-hooks.js';

/** Place a new outbound call (a callback, a hand-off to a person); this call's flow continues. */
export const runDial: StepExecutor<DialStep> = async (step, rc) => {
  const hooks = outboundHooks(rc.config);
  const to = render(rc, step.to).trim();
  try {
    if (!hooks) throw new VoicebotError('VB_ERR_OUTBOUND_UNSUPPORTED', { provider: 'this voicebot (no outbound service: run it with `voicebot run` and settings.api, or `voicebot call`)' });
    const vars = rc.templates.renderValue(step.vars, rc.scope) as Record<string, unknown>;
    const { id } = hooks.dial({ to, flow: step.flowName, vars, callerId: step.callerId ? render(rc, step.callerId) : undefined });
    if (step.save) rc.scope.vars[step.save] = id;
    rc.logger.info({ to, callId: id }, 'dial step placed a call');
    return undefined;
  } catch (e) {
    if (!step.onFail) throw e;
    rc.logger.warn({ to, code: toVoicebotError(e, 'VB_ERR_OUTBOUND_FAILED', { to, detail: String(e) }).code }, 'dial failed; taking onFail');
    return step.onFail;
  }
};
