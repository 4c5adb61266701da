import type { LlmStep } from '../../config/types.js';
import { findHandler, render, waitForCaller, type StepExecutor } from '../context.js';
import { holdLoop } from '../thinking.js';
import { toolSpecs } from '../tools.js';

export const runLlm: StepExecutor<LlmStep> = async (step, rc, signal) => {
  const { session } = rc;
  const system = render(rc, step.system);
  if (step.context === 'reset') rc.history.length = 0;
  const exitTools = step.exits.flatMap((e) => (e.tool ? [e.tool] : []));
  const tools = toolSpecs(rc.config, [...new Set([...step.tools, ...exitTools])]);
  const intentExits = step.exits.filter((e) => e.intent !== undefined);
  const maxTurnsExit = step.exits.find((e) => e.maxTurns);

  if (step.say) {
    const text = render(rc, step.say);
    if (text.trim()) {
      const r = await session.say(text, { bargeIn: step.bargeIn, signal });
      // The model must know what the caller actually heard of its opening line.
      if (r.playedText) rc.history.push({ role: 'assistant', content: r.playedText });
    }
  }

  let turns = 0;
  for (;;) {
    if (step.maxTurns !== undefined && turns >= step.maxTurns) return maxTurnsExit?.goto;
    const preempt = { messages: [{ role: 'system' as const, content: system }, ...rc.history], tools: tools.length ? tools : undefined };
    // The request respond() will send once the caller's words are appended: the engine may start it before the endpoint.
    const res = await waitForCaller(rc, step, { input: ['speech'], timeoutMs: rc.config.settings.timeouts.noInput, signal, preempt });
    turns++;
    if (res.type === 'timeout') {
      const h = findHandler(rc.config, step, 'noInput');
      if (h) return h;
      continue;
    }
    const text = res.type === 'speech' ? res.text : res.digits;
    rc.history.push({ role: 'user', content: text });
    if (intentExits.length) {
      const hit = await session.classifyIntent(text, intentExits.map((e) => e.intent!), signal);
      const exit = hit ? intentExits.find((e) => e.intent === hit) : undefined;
      if (exit) return exit.goto;
    }
    const r = await session.respond({
      messages: [{ role: 'system', content: system }, ...rc.history],
      tools: preempt.tools,
      runTool: async (call, s, port) => {
        // A slow tool: hold audio in the turn until it returns (settings.hold), as for a slow http step.
        const hold = rc.config.settings.hold ? holdLoop(session, port.play, rc.config.settings.hold) : undefined;
        try {
          return await rc.tools.run(call.name, call.arguments, s);
        } finally {
          await hold?.stop();
        }
      },
      stopOnTools: exitTools,
      bargeIn: step.bargeIn,
      signal,
    });
    rc.history.push(...r.history);
    if (r.stoppedOnTool) {
      const exit = step.exits.find((e) => e.tool === r.stoppedOnTool);
      if (exit) return exit.goto;
    }
  }
};
