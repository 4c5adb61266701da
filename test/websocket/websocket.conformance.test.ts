import { silentLogger } from '../../core/logging.js';
import { WebSocketAudioStream } from '../../plugins/websocket/index.js';
import { describeAudioStreamConformance } from '../conformance/audio-stream.suite.js';

const TOKEN = 'conformance-token-0123456789';

// Both ends in one plugin (role all): attach() streams the leg over a real
// loopback WebSocket to this plugin's own worker end and returns that leg.
describeAudioStreamConformance('websocket (loopback, l16)', async () => ({
  plugin: new WebSocketAudioStream({ token: TOKEN, listen: { port: 0 } }, { logger: silentLogger() }),
}));
