import { defineErrors } from '../../core/plugin-api.js';

/** WebSocket audio-stream and edge/worker roles. */
export const WEBSOCKET_ERRORS = defineErrors({
  VB_ERR_WS_AUTH: {
    message:
      'The audio-stream {side} refused the connection ({detail}). Edge and worker must use the same audioStream.token (e.g. token: ${VOICEBOT_STREAM_TOKEN} with the same value on both machines).',
    retryable: false,
  },
  VB_ERR_WS_CONNECT: {
    message:
      'Cannot reach the audio-stream worker at {url}: {detail}. Start `voicebot run --role worker` there, or fix audioStream.url on the edge.',
    retryable: true,
  },
  VB_ERR_WS_LISTEN: {
    message:
      'The audio-stream worker cannot listen on {host}:{port}: {detail}. Set audioStream.listen.port to a free port (0 picks one) or stop the program using it.',
  },
  VB_ERR_WS_PROTOCOL: {
    message:
      'Audio-stream protocol error (call {callId}): {detail}. Both ends must speak protocol version 1 as described in plugins/websocket/README.md; upgrade the older one or fix the custom client.',
  },
  VB_ERR_WS_FORMAT: {
    message:
      'Call {callId}: no audio format in common; the edge offered {offered}, the worker accepts codecs {accepted}. Add one of the offered codecs to audioStream.codecs on the worker (or on the edge).',
  },
  VB_ERR_WS_RESUME: {
    message:
      'Cannot resume the audio stream of call {callId}: {detail}. The worker no longer has this call (it restarted or the grace window passed); new calls are not affected.',
  },
  VB_ERR_WS_UNAVAILABLE: {
    message:
      'This voicebot does not take streamed calls now ({detail}). Point audioStream.url at a process started with `voicebot run --role worker` that is not shutting down.',
    retryable: true,
  },
  VB_ERR_WS_BACKPRESSURE: {
    message:
      'The audio stream of call {callId} is {bufferedBytes} bytes behind (limit {limitBytes}): the peer stopped reading. The stream was closed; check the network or raise audioStream.maxBufferedMs.',
  },
  VB_ERR_WS_START_TIMEOUT: {
    message:
      'The audio-stream connection from {remote} sent no start within {timeoutMs} ms and was closed. An edge must send start right after connecting (plugins/websocket/README.md); raise audioStream.startTimeoutMs on the worker for very slow links.',
  },
  VB_ERR_WS_STREAM_LOST: {
    message:
      'The audio stream of call {callId} was lost ({detail}) and not resumed within {graceMs} ms, so the call was ended. Check that the worker is running and reachable; raise audioStream.reconnectGraceMs for flaky networks.',
  },
  VB_ERR_WS_ROLE: {
    message: '`voicebot run --role {role}` {detail}',
  },
  VB_WARN_WS_AUDIO_DROPPED: {
    message:
      'Call {callId}: dropped {frames} audio frame(s) {direction} because the WebSocket was more than {limitMs} ms behind. Check the network between edge and worker, or raise audioStream.maxBufferedMs.',
    severity: 'warning',
  },
});
