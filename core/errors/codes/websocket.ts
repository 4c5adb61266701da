import { defineErrors } from '../define.js';

/** WebSocket audio-stream and edge/worker roles. */
export const WEBSOCKET_ERRORS = defineErrors({});
