/**
 * OpenTelemetry traces from the app's call events: a `voicebot.call` span
 * per call and a `voicebot.turn` child span per turn (from end of caller
 * speech to the bot's first audio, with the stage latencies as attributes).
 * Only the API is used: without an SDK the user registers (e.g. `node
 * --import ./otel.mjs`, NodeSDK with an OTLP exporter) every span is a no-op.
 */
import { SpanStatusCode, context, trace, type Span } from '@opentelemetry/api';
import type { VoicebotApp } from '../app/app.js';
import type { CallEvent } from '../engine/events.js';

export function traceCalls(app: VoicebotApp, version: string): () => void {
  const tracer = trace.getTracer('voicebot', version);
  const calls = new Map<string, Span>();
  const onEvent = (ev: CallEvent): void => {
    switch (ev.type) {
      case 'call.started': {
        calls.get(ev.callId)?.end(); // a re-dispatched call starts again here: one span per worker
        calls.set(ev.callId, tracer.startSpan('voicebot.call', { attributes: { 'voicebot.call_id': ev.callId, 'voicebot.flow': ev.flow, 'voicebot.role': app.role, 'voicebot.to': ev.to } }));
        return;
      }
      case 'flow.step':
        calls.get(ev.callId)?.addEvent('flow.step', { 'voicebot.step': `${ev.flow}.${ev.step}`, 'voicebot.kind': ev.kind });
        return;
      case 'call.error': {
        const span = calls.get(ev.callId);
        span?.addEvent('call.error', { 'voicebot.code': ev.code, 'voicebot.slot': ev.slot ?? 'flow', 'voicebot.message': ev.message });
        return;
      }
      case 'turn.metrics': {
        const parent = calls.get(ev.callId);
        if (!parent) return;
        const end = Date.now();
        const attributes: Record<string, number> = { 'voicebot.turn': ev.turn };
        for (const [k, v] of Object.entries(ev)) if (k.endsWith('Ms') && typeof v === 'number') attributes[`voicebot.${k}`] = v;
        const span = tracer.startSpan('voicebot.turn', { startTime: end - (ev.e2eMs ?? 0), attributes }, trace.setSpan(context.active(), parent));
        span.end(end);
        return;
      }
      case 'call.ended': {
        const span = calls.get(ev.callId);
        if (!span) return;
        calls.delete(ev.callId);
        span.setAttribute('voicebot.reason', ev.reason);
        span.setAttribute('voicebot.duration_ms', ev.durationMs);
        if (ev.reason === 'error') span.setStatus({ code: SpanStatusCode.ERROR, message: 'call ended with an error' });
        span.end();
        return;
      }
      default:
        return;
    }
  };
  // An edge sees its workers' events too (worker.event); the worker traces those calls.
  return app.role === 'edge' ? () => {} : app.onEvent(onEvent);
}
