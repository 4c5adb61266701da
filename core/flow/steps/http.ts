import type { HttpStep } from '../../config/types.js';
import { render, type StepExecutor } from '../context.js';
import { httpRequest } from '../http.js';
import { renderUrl } from '../url-template.js';

export const runHttp: StepExecutor<HttpStep> = async (step, rc, signal) => {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(step.headers)) headers[k] = render(rc, v);
  try {
    const req = {
      method: step.method,
      url: renderUrl(rc.templates, step.url, rc.scope),
      headers,
      body: step.body === undefined ? undefined : rc.templates.renderValue(step.body, rc.scope),
      timeoutMs: step.timeoutMs,
      maxBytes: step.maxBytes,
    };
    const result = await httpRequest(req, rc.fetch, signal);
    if (step.save) rc.scope.vars[step.save] = result;
    return undefined;
  } catch (e) {
    if (signal.aborted || !step.onError) throw e;
    rc.logger.warn({ step: `${step.flow}.${step.name}`, code: (e as { code?: string }).code ?? 'VB_ERR_FLOW_HTTP', err: (e as Error).message }, 'http step failed; taking onError');
    if (step.save) rc.scope.vars[step.save] = { error: (e as Error).message };
    return step.onError;
  }
};
