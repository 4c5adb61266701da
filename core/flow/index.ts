export { runFlow, MAX_STEPS_PER_CALL, type FlowRunContext } from './runner.js';
export { Templates, compileTemplate, type TemplateScope } from './templates.js';
export { ToolRunner, toolSpecs, type ToolHandler, type ToolHandlerContext } from './tools.js';
