// The softphone page: one call per tab over a WebSocket (protocol in
// plugins/local/protocol.ts). Audio is PCM16 mono at LINE_RATE in 20 ms frames.
const LINE_RATE = 16000;
const PROTOCOL_VERSION = 1;
const $ = (id) => document.getElementById(id);

/** State the page exposes for tests and curious users (window.softphone). */
const state = {
  state: 'idle',
  callId: '',
  mic: false,
  rxFrames: 0,
  rxVoicedFrames: 0,
  rxPeakRms: 0,
  txFrames: 0,
  played: 0,
  playedVoiced: 0,
  events: [],
  transcript: [],
  step: '',
  endReason: '',
};
window.softphone = state;

let ws;
let ctx;
let node;
let micStream;
let answered = false;
let muted = false;

function setStatus(s, text) {
  state.state = s;
  $('status').dataset.state = s;
  $('status').textContent = text;
  const live = s === 'ringing' || s === 'in-call';
  $('call').disabled = live || s === 'connecting';
  $('hangup').disabled = !live && s !== 'connecting';
  $('say-text').disabled = $('say').disabled = s !== 'in-call';
}

function addLine(kind, who, text) {
  state.transcript.push({ kind, who, text });
  const li = document.createElement('li');
  li.className = kind;
  if (who) {
    const w = document.createElement('span');
    w.className = 'who';
    w.textContent = who;
    li.append(w);
  }
  li.append(document.createTextNode(text));
  $('transcript').append(li);
  li.scrollIntoView({ block: 'nearest' });
}

function rmsOf(pcm) {
  let acc = 0;
  for (let i = 0; i < pcm.length; i++) acc += pcm[i] * pcm[i];
  return pcm.length ? Math.sqrt(acc / pcm.length) : 0;
}

function level(id, rms) {
  const db = rms > 0 ? 20 * Math.log10(rms / 32768) : -100;
  $(id).style.width = `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100))}%`;
}

const ms = (v) => (v === undefined ? '—' : `${Math.round(v)} ms`);

function onEvent(ev) {
  state.events.push(ev);
  switch (ev.type) {
    case 'call.started':
      addLine('note', '', `call started (flow ${ev.flow})`);
      break;
    case 'flow.step':
      state.step = `${ev.flow}.${ev.step}`;
      $('step').textContent = `${ev.flow}.${ev.step} (${ev.kind})`;
      break;
    case 'bot.said':
      // A prompt cut off before its first word still shows: the caller should see it was there.
      if (ev.text) addLine('bot', 'bot', ev.text + (ev.interrupted ? ' …(interrupted)' : ''));
      else if (ev.interrupted) addLine('bot', 'bot', '(interrupted before the first word)');
      break;
    case 'bot.paused':
      $('interim').textContent = 'bot paused: you are speaking…';
      break;
    case 'bot.resumed':
      addLine('note', '', `bot went on after ${(ev.pausedMs / 1000).toFixed(1)} s (no words heard)`);
      break;
    case 'caller.said':
      if (ev.final) {
        $('interim').textContent = '';
        addLine('caller', 'you', ev.text);
      } else $('interim').textContent = ev.text;
      break;
    case 'dtmf':
      addLine('caller', 'you pressed', ev.digits);
      break;
    case 'bot.listening':
      $('interim').textContent = ev.input.includes('speech') ? 'listening…' : 'waiting for keys…';
      break;
    case 'turn.metrics': {
      const tr = document.createElement('tr');
      for (const v of [ev.turn, ms(ev.endOfUtteranceMs), ms(ev.sttMs), ms(ev.llmTtftMs), ms(ev.ttsTtfbMs), ms(ev.e2eMs), ms(ev.overheadMs)]) {
        const td = document.createElement('td');
        td.textContent = String(v);
        tr.append(td);
      }
      $('metrics').tBodies[0].append(tr);
      break;
    }
    case 'tool.called':
      addLine('note', '', `tool ${ev.name} called`);
      break;
    case 'call.error':
      addLine('error', 'error', `${ev.code} ${ev.message}`);
      break;
    case 'call.ended':
      addLine('note', '', `call ended (${ev.reason}, ${(ev.durationMs / 1000).toFixed(1)} s)`);
      break;
    default:
      break;
  }
}

function onMessage(m) {
  switch (m.type) {
    case 'ringing':
      state.callId = m.callId;
      $('call-id').textContent = m.callId;
      setStatus('ringing', 'Ringing…');
      break;
    case 'answered':
      answered = true;
      setStatus('in-call', state.mic ? 'In call — speak, press keys or type.' : 'In call — no microphone: press keys or type.');
      break;
    case 'rejected':
      addLine('note', '', `the bot declined the call (${m.reason})`);
      break;
    case 'clear':
      node?.port.postMessage({ type: 'clear' });
      break;
    case 'dtmf':
      addLine('note', '', `bot sent keys ${m.digits}`);
      ws.send(JSON.stringify({ type: 'ack', id: m.id }));
      break;
    case 'transfer':
      addLine('note', '', `transferred to ${m.to} (simulated on the local line)`);
      break;
    case 'saying':
      $('interim').textContent = `saying “${m.text}”…`;
      break;
    case 'event':
      onEvent(m.event);
      break;
    case 'ended':
      state.endReason = m.reason;
      answered = false;
      setStatus('ended', `Call ended: ${m.reason}.`);
      stopAudio();
      break;
    case 'error':
      addLine('error', 'error', `${m.code} ${m.message}`);
      break;
    default:
      break;
  }
}

function onAudio(buf) {
  const pcm = new Int16Array(buf);
  const rms = rmsOf(pcm);
  state.rxFrames++;
  if (rms > 100) state.rxVoicedFrames++;
  state.rxPeakRms = Math.max(state.rxPeakRms, Math.round(rms));
  level('rx-level', rms);
  node?.port.postMessage({ type: 'play', pcm }, [pcm.buffer]);
}

async function startAudio() {
  try {
    ctx = new AudioContext({ sampleRate: LINE_RATE, latencyHint: 'interactive' });
  } catch {
    ctx = new AudioContext({ latencyHint: 'interactive' }); // the worklet resamples
  }
  await ctx.audioWorklet.addModule('worklet.js');
  node = new AudioWorkletNode(ctx, 'softphone', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { lineRate: LINE_RATE } });
  node.connect(ctx.destination);
  node.port.onmessage = (e) => {
    const m = e.data;
    if (m.type === 'mic') {
      level('tx-level', muted ? 0 : rmsOf(m.pcm));
      if (muted) m.pcm.fill(0);
      if (answered && ws?.readyState === WebSocket.OPEN) {
        ws.send(m.pcm.buffer);
        state.txFrames++;
      }
    } else if (m.type === 'stats') {
      state.played = m.played;
      state.playedVoiced = m.playedVoiced;
    }
  };
  try {
    micStream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
    ctx.createMediaStreamSource(micStream).connect(node);
    state.mic = true;
  } catch (e) {
    state.mic = false;
    $('hint').textContent = `No microphone (${e.name || e}): press keys or type instead.`;
  }
  if (ctx.state === 'suspended') await ctx.resume();
}

function stopAudio() {
  micStream?.getTracks().forEach((t) => t.stop());
  micStream = undefined;
  // Let the last bot words finish playing before closing the audio.
  const c = ctx;
  ctx = undefined;
  setTimeout(() => c?.close(), 1500);
}

async function call() {
  $('transcript').textContent = '';
  $('metrics').tBodies[0].textContent = '';
  $('step').textContent = '—';
  Object.assign(state, { callId: '', rxFrames: 0, rxVoicedFrames: 0, rxPeakRms: 0, txFrames: 0, events: [], transcript: [], step: '', endReason: '' });
  setStatus('connecting', 'Connecting…');
  try {
    await startAudio();
  } catch (e) {
    setStatus('error', `Audio failed: ${e.message || e}`);
    return;
  }
  // Hung up while the microphone prompt was open.
  if (state.state !== 'connecting') {
    stopAudio();
    return;
  }
  stopStandby();
  const sock = openSocket();
  sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, sampleRate: LINE_RATE }));
  attachCall(sock);
}

function openSocket() {
  const sock = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  sock.binaryType = 'arraybuffer';
  return sock;
}

/** `sock` carries the current call (one the page placed, or an accepted incoming one). */
function attachCall(sock) {
  ws = sock;
  ws.onmessage = (e) => (typeof e.data === 'string' ? onMessage(JSON.parse(e.data)) : onAudio(e.data));
  ws.onclose = () => {
    if (state.state === 'ringing' || state.state === 'in-call' || state.state === 'connecting') {
      setStatus('ended', 'Disconnected.');
      stopAudio();
    }
    answered = false;
    startStandby();
  };
}

// ── calls the bot places: a standby socket waits for `incoming` ──
let standbyWs;
let incomingId = '';

function showIncoming(m) {
  incomingId = m ? m.callId : '';
  $('incoming').hidden = !m;
  if (m) $('incoming-from').textContent = m.from;
}

function startStandby() {
  if (!$('take-calls').checked || standbyWs || (ws && ws.readyState <= WebSocket.OPEN)) return;
  const sock = openSocket();
  standbyWs = sock;
  sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', version: PROTOCOL_VERSION, sampleRate: LINE_RATE, standby: true }));
  sock.onmessage = (e) => {
    if (standbyWs !== sock || typeof e.data !== 'string') return;
    const m = JSON.parse(e.data);
    // After a call the page keeps showing how it ended; the standby socket waits behind it.
    if (m.type === 'standby') {
      if (state.state !== 'ended') setStatus('idle', 'Ready to call — or to take a call from the bot.');
    }
    else if (m.type === 'incoming') {
      setStatus('incoming', `The bot is calling (${m.to})…`);
      showIncoming(m);
    } else if (m.type === 'missed') {
      showIncoming(undefined);
      setStatus('idle', `Missed a call from the bot (${m.reason}).`);
    } else if (m.type === 'error') addLine('error', 'error', `${m.code} ${m.message}`);
  };
  sock.onclose = () => {
    if (standbyWs !== sock) return;
    standbyWs = undefined;
    showIncoming(undefined);
    // The server went away: try again shortly while the box stays ticked.
    setTimeout(startStandby, 2000);
  };
}

function stopStandby() {
  const sock = standbyWs;
  standbyWs = undefined;
  showIncoming(undefined);
  if (sock && sock.readyState <= WebSocket.OPEN) sock.close();
}

async function acceptIncoming() {
  const sock = standbyWs;
  const callId = incomingId;
  if (!sock || !callId) return;
  showIncoming(undefined);
  standbyWs = undefined;
  $('transcript').textContent = '';
  $('metrics').tBodies[0].textContent = '';
  Object.assign(state, { callId: '', rxFrames: 0, rxVoicedFrames: 0, rxPeakRms: 0, txFrames: 0, events: [], transcript: [], step: '', endReason: '' });
  setStatus('connecting', 'Answering…');
  try {
    await startAudio(); // before accepting, so the bot's first words are heard
  } catch (e) {
    setStatus('error', `Audio failed: ${e.message || e}`);
    sock.send(JSON.stringify({ type: 'decline', callId }));
    standbyWs = sock;
    return;
  }
  attachCall(sock);
  sock.send(JSON.stringify({ type: 'accept', callId }));
}

function declineIncoming() {
  if (standbyWs && incomingId) standbyWs.send(JSON.stringify({ type: 'decline', callId: incomingId }));
  showIncoming(undefined);
  setStatus('idle', 'Declined the bot\'s call.');
}

function press(d) {
  if (!answered) return;
  ws.send(JSON.stringify({ type: 'dtmf', digits: d }));
}

$('call').addEventListener('click', call);
$('hangup').addEventListener('click', () => {
  if (state.state === 'connecting') {
    // Nothing rang yet: cancel the attempt instead of waiting for it.
    setStatus('ended', 'Call cancelled.');
    if (ws && ws.readyState <= WebSocket.OPEN) {
      ws.onmessage = null;
      ws.close();
    }
    stopAudio();
    return;
  }
  if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'hangup' }));
});
$('accept').addEventListener('click', acceptIncoming);
$('decline').addEventListener('click', declineIncoming);
$('take-calls').addEventListener('change', (e) => (e.target.checked ? startStandby() : stopStandby()));
$('mute').addEventListener('change', (e) => (muted = e.target.checked));
$('keypad').addEventListener('click', (e) => {
  if (e.target instanceof HTMLButtonElement) press(e.target.textContent.trim());
});
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement) return;
  if (/^[0-9*#]$/.test(e.key)) press(e.key);
});
$('say-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('say-text').value.trim();
  if (!text || !answered) return;
  ws.send(JSON.stringify({ type: 'say', text }));
  $('say-text').value = '';
});
setStatus('idle', 'Ready to call.');
startStandby();
