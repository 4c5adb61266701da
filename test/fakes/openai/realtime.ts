/**
 * A loopback server speaking the OpenAI Realtime transcription protocol over
 * a real WebSocket (`GET /v1/realtime?intent=transcription`, Bearer auth):
 *
 *  - GA `session.update` {session: {type: 'transcription', audio: {input: {format}}}}
 *    → `session.updated`; beta `transcription_session.update` {input_audio_format}
 *    → `transcription_session.updated`.
 *  - `input_audio_buffer.append` (base64 PCM16 24 kHz or μ-law 8 kHz),
 *    `input_audio_buffer.clear`, `input_audio_buffer.commit` → `…committed`,
 *    `conversation.item.added`, word-by-word
 *    `conversation.item.input_audio_transcription.delta`, then `.completed`.
 *    The committed audio is decoded with the mock-speech codec (or a scripted
 *    text is returned), so what the caller said travels as real audio.
 *  - Errors as the real server sends them: an `error` event for an empty
 *    commit, an unknown event type or a bad session; HTTP 401 on the upgrade
 *    for a wrong key.
 *
 * Faults, scripted per commit: drop the socket, stall (say nothing), an
 * `error` event, a `…transcription.failed` event, malformed JSON.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { mulawDecode } from '../../../core/audio/g711.js';
import { decodeMockSpeech } from '../../../plugins/mock/mock-speech.js';

export type RealtimeFault = 'drop' | 'stall' | 'error' | 'failed' | 'malformed';

export interface CommitScript {
  /** Answer with this text instead of decoding the audio. */
  text?: string;
  fault?: RealtimeFault;
  /** ms between deltas (default 5). */
  deltaMs?: number;
}

export interface RecordedSession {
  url: string;
  headers: IncomingMessage['headers'];
  /** Client events in order, audio replaced by its byte count. */
  events: { type: string; bytes?: number; raw: Record<string, unknown> }[];
  /** `ga` or `beta`, from the update the client sent. */
  dialect?: 'ga' | 'beta';
  format?: 'pcm16' | 'pcmu';
  /** What each commit decoded to. */
  heard: string[];
  closed: boolean;
}

export class FakeRealtime {
  apiKey = 'sk-test';
  readonly sessions: RecordedSession[] = [];
  private readonly scripts: CommitScript[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(private readonly server: Server) {
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Socket, head));
  }

  get baseURL(): string {
    const a = this.server.address();
    if (!a || typeof a === 'string') throw new Error('not listening');
    return `http://127.0.0.1:${a.port}/v1`;
  }

  /** The next commits are answered by these, in order; later ones decode the audio. */
  script(...s: CommitScript[]): void {
    this.scripts.push(...s);
  }

  reset(): void {
    this.scripts.length = 0;
    this.sessions.length = 0;
  }

  /** Connections still open. */
  get open(): number {
    return this.sessions.filter((s) => !s.closed).length;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const s of this.sockets) s.destroy();
    this.wss.close();
    this.server.close();
    await once(this.server, 'close').catch(() => {});
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const reject = (status: number, message: string, code: string): void => {
      const body = JSON.stringify({ error: { message, type: 'invalid_request_error', code } });
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (url.pathname !== '/v1/realtime') return reject(404, `no route ${url.pathname}`, 'not_found');
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return reject(401, 'Incorrect API key provided.', 'invalid_api_key');
    if (url.searchParams.get('intent') !== 'transcription') return reject(400, 'this fake only serves intent=transcription', 'invalid_intent');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, req));
  }

  private serve(ws: WebSocket, req: IncomingMessage): void {
    const rec: RecordedSession = { url: req.url ?? '', headers: req.headers, events: [], heard: [], closed: false };
    this.sessions.push(rec);
    let seq = 0;
    const id = (p: string): string => `${p}_${++seq}`;
    const send = (ev: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event_id: id('event'), ...ev }));
    };
    const error = (message: string, code: string, type = 'invalid_request_error'): void => send({ type: 'error', error: { type, code, message } });
    let audio: Int16Array[] = [];
    let rate = 24000;
    let stalled = false;
    ws.on('close', () => (rec.closed = true));
    send({ type: req.headers['openai-beta'] ? 'transcription_session.created' : 'session.created', session: { type: 'transcription', id: id('sess') } });
    ws.on('message', (data) => {
      if (stalled) return;
      let ev: Record<string, any>;
      try {
        ev = JSON.parse(String(data));
      } catch {
        return error('invalid JSON', 'invalid_json');
      }
      const type = String(ev.type);
      if (type === 'input_audio_buffer.append') rec.events.push({ type, bytes: Buffer.from(String(ev.audio), 'base64').length, raw: { type } });
      else rec.events.push({ type, raw: ev });
      switch (type) {
        case 'session.update': {
          const fmt = ev.session?.audio?.input?.format;
          if (ev.session?.type !== 'transcription') return error('session.type must be transcription on this socket', 'invalid_value');
          if (fmt?.type === 'audio/pcmu') (rec.format = 'pcmu'), (rate = 8000);
          else if (fmt?.type === 'audio/pcm' && (fmt.rate ?? 24000) === 24000) (rec.format = 'pcm16'), (rate = 24000);
          else return error(`unsupported input format ${JSON.stringify(fmt)}`, 'invalid_value');
          rec.dialect = 'ga';
          return send({ type: 'session.updated', session: ev.session });
        }
        case 'transcription_session.update': {
          const fmt = ev.session?.input_audio_format;
          if (fmt === 'g711_ulaw') (rec.format = 'pcmu'), (rate = 8000);
          else if (fmt === 'pcm16') (rec.format = 'pcm16'), (rate = 24000);
          else return error(`unsupported input_audio_format ${fmt}`, 'invalid_value');
          rec.dialect = 'beta';
          return send({ type: 'transcription_session.updated', session: ev.session });
        }
        case 'input_audio_buffer.append': {
          const b = Buffer.from(String(ev.audio), 'base64');
          if (rec.format === 'pcmu') audio.push(mulawDecode(new Uint8Array(b)));
          else {
            const s = new Int16Array(b.length >> 1);
            for (let i = 0; i < s.length; i++) s[i] = b.readInt16LE(i * 2);
            audio.push(s);
          }
          return;
        }
        case 'input_audio_buffer.clear':
          audio = [];
          return send({ type: 'input_audio_buffer.cleared' });
        case 'input_audio_buffer.commit': {
          const total = audio.reduce((a, s) => a + s.length, 0);
          if ((total * 1000) / rate < 100) {
            return error(`Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has ${Math.round((total * 1000) / rate)}ms of audio.`, 'input_audio_buffer_commit_empty');
          }
          const pcm = new Int16Array(total);
          let at = 0;
          for (const s of audio) pcm.set(s, (at += s.length) - s.length);
          audio = [];
          const item = id('item');
          send({ type: 'input_audio_buffer.committed', item_id: item, previous_item_id: null });
          send({ type: rec.dialect === 'beta' ? 'conversation.item.created' : 'conversation.item.added', item: { id: item, type: 'message', role: 'user' } });
          const script = this.scripts.shift() ?? {};
          const text = script.text ?? decodeMockSpeech(pcm, rate);
          rec.heard.push(text);
          return void this.answer(ws, send, item, text, script, () => (stalled = true));
        }
        default:
          return error(`Invalid value: '${type}'. Supported values are: 'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear'.`, 'invalid_value');
      }
    });
  }

  private async answer(ws: WebSocket, send: (ev: Record<string, unknown>) => void, item: string, text: string, s: CommitScript, stall: () => void): Promise<void> {
    const words = text.split(/(?<=\s)/);
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, s.deltaMs ?? 5));
    // Half the words, then the fault (if any).
    const before = s.fault ? Math.ceil(words.length / 2) : words.length;
    for (let i = 0; i < before; i++) {
      await pause();
      send({ type: 'conversation.item.input_audio_transcription.delta', item_id: item, content_index: 0, delta: words[i] });
    }
    switch (s.fault) {
      case 'drop':
        return void ws.terminate();
      case 'stall':
        return stall();
      case 'error':
        return send({ type: 'error', error: { type: 'server_error', code: 'server_error', message: 'The server had an error while processing your request.' } });
      case 'failed':
        return send({ type: 'conversation.item.input_audio_transcription.failed', item_id: item, content_index: 0, error: { type: 'transcription_error', code: 'audio_unintelligible', message: 'Audio could not be transcribed.' } });
      case 'malformed':
        return void (ws.readyState === ws.OPEN && ws.send('{"type": "conversation.item.input_audio_transcription.completed", '));
    }
    await pause();
    send({ type: 'conversation.item.input_audio_transcription.completed', item_id: item, content_index: 0, transcript: text, usage: { type: 'duration', seconds: 1 } });
  }
}

export async function startFakeRealtime(): Promise<FakeRealtime> {
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('upgrade to a WebSocket');
  });
  const fake = new FakeRealtime(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return fake;
}
