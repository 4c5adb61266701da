import { InprocessAudioStream } from '../../plugins/inprocess/index.js';
import { describeAudioStreamConformance } from '../conformance/audio-stream.suite.js';

describeAudioStreamConformance('inprocess', async () => ({ plugin: new InprocessAudioStream() }));
