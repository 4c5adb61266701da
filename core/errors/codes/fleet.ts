import { defineErrors } from '../define.js';

/** Several edges and workers: registry, dispatch, drain, ops endpoints (README "Running a fleet"). */
export const FLEET_ERRORS = defineErrors({
  VB_ERR_FLEET_REDIS: {
    message:
      'The worker registry at {url} is not reachable: {detail}. Start Redis there or fix settings.fleet.redis; calls already running are not affected.',
    retryable: true,
  },
  VB_ERR_FLEET_NO_WORKER: {
    message:
      'Call {callId} cannot be placed on a worker: {detail}. Start `voicebot run --role worker` with the same settings.fleet.redis and audioStream.token, or raise settings.fleet.capacity on the workers.',
    retryable: true,
  },
  VB_ERR_FLEET_CAPACITY: {
    message:
      'This worker is full ({load} of {capacity} calls). The edge tries another worker; raise settings.fleet.capacity or add workers if this happens often.',
    retryable: true,
  },
  VB_ERR_FLEET_DRAINING: {
    message: 'This voicebot is draining (it got SIGTERM) and takes no new calls. The edge tries another worker; nothing to do unless every worker drains.',
    retryable: true,
  },
  VB_WARN_FLEET_WORKER_LOST: {
    message:
      'Call {callId} lost its worker ({detail}); it continues on worker {worker} from step {step}. Variables and transcript were carried over; audio of the gap and an unfinished bot sentence were lost.',
    severity: 'warning',
  },
  VB_ERR_FLEET_OPS_LISTEN: {
    message: 'The ops HTTP server cannot listen on {host}:{port}: {detail}. Set settings.ops.port to a free port (0 picks one) or stop the program using it.',
  },
});
