// The facestream page: frames from the camera (or a chosen photo or video) to the gateway
// over a WebSocket, results drawn over the picture. No build step, no downloads.

// The Python client's colours (overlay.py), as CSS; other labels get white.
const COLOURS = {
  angry: "rgb(220,40,40)", disgust: "rgb(40,140,40)", fear: "rgb(160,60,160)",
  happy: "rgb(240,200,40)", sad: "rgb(40,120,200)", surprise: "rgb(40,200,240)",
  neutral: "rgb(180,180,180)", contempt: "rgb(200,120,60)",
};
const colour = (label) => COLOURS[label] || "rgb(255,255,255)";
const CHART_SECONDS = 60;

const $ = (id) => document.getElementById(id);
const video = $("video"), photo = $("photo"), overlay = $("overlay"), chart = $("chart");

// What the page knows; tests read it as window.facestream.
const state = {
  connection: "connecting", detector: "unknown", notice: "", answered: 0, sent: 0, dropped: 0,
  gatewayDropped: 0, errors: 0, lastError: "", lastResult: null, rtts: [], answers: [],
  tracks: new Map(), // track id -> [{t, scores}]
};
window.facestream = state;

let config = { frame_width: 640, window: 3, token_required: false };
let socket = null;
let retry = 0;
let inFlight = new Map(); // frame number -> performance.now() when sent
let frameNumber = 0;
let source = null; // the <video> or <img> being streamed
let still = false; // a photo: sent once, no tracks

function token() {
  if (!config.token_required) return undefined;
  let value = sessionStorage.getItem("facestream-token");
  if (!value) {
    value = prompt("This facestream asks for an access token:") || "";
    sessionStorage.setItem("facestream-token", value);
  }
  return value;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.binaryType = "arraybuffer";
  state.connection = "connecting";
  socket.onopen = () => {
    retry = 0;
    state.connection = "open";
    inFlight.clear();
    socket.send(JSON.stringify({ type: "hello", token: token(), track: !still, identify: true }));
    if (still) sendFrame();
  };
  socket.onmessage = (event) => receive(JSON.parse(event.data));
  socket.onclose = (event) => {
    inFlight.clear();
    if (event.code === 4401) sessionStorage.removeItem("facestream-token");
    if (event.code === 4403 || event.code === 4429 || event.code === 4401) {
      state.connection = `refused: ${event.reason}`;
      if (event.code !== 4429) return; // retrying cannot fix a refused origin or token
    }
    const delay = Math.min(250 * 2 ** retry, 8000);
    retry += 1;
    state.connection = `disconnected; reconnecting in ${(delay / 1000).toFixed(1)} s`;
    setTimeout(connect, delay);
  };
}

function receive(message) {
  if (message.type === "status") {
    state.detector = message.detector === "ok" ? "ok" : message.message;
    if (message.detector !== "ok") inFlight.clear();
    return;
  }
  if (message.type === "dropped") {
    inFlight.delete(message.frame);
    state.gatewayDropped = message.dropped;
    return;
  }
  if (message.type === "error") {
    state.errors += 1;
    state.lastError = message.message;
    if (message.frame !== undefined) inFlight.delete(message.frame);
    return;
  }
  if (message.type !== "result") return;
  const sentAt = inFlight.get(message.frame);
  inFlight.delete(message.frame);
  const now = performance.now();
  if (sentAt !== undefined) state.rtts.push(now - sentAt);
  if (state.rtts.length > 200) state.rtts.shift();
  state.answers.push(now);
  state.answered += 1;
  state.gatewayDropped = message.dropped;
  state.detector = "ok";
  state.lastResult = message;
  for (const face of message.faces) {
    if (!face.track_id || !Object.keys(face.smoothed_scores).length) continue;
    const history = state.tracks.get(face.track_id) || [];
    history.push({ t: now / 1000, scores: face.smoothed_scores });
    state.tracks.set(face.track_id, history);
  }
  draw(message);
  drawBars(message);
}

function sendFrame() {
  if (!socket || socket.readyState !== WebSocket.OPEN || !source) return;
  if (inFlight.size >= config.window) {
    state.dropped += 1; // never queue: the next frame will be newer
    return;
  }
  const width = source.videoWidth || source.naturalWidth;
  const height = source.videoHeight || source.naturalHeight;
  if (!width || !height) return;
  const scale = Math.min(1, config.frame_width / width);
  const canvas = new OffscreenCanvas(Math.round(width * scale), Math.round(height * scale));
  canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  const number = frameNumber++;
  inFlight.set(number, performance.now());
  state.sent += 1;
  const captured = performance.timeOrigin + performance.now();
  canvas.convertToBlob({ type: "image/jpeg", quality: 0.85 }).then(async (blob) => {
    const header = new DataView(new ArrayBuffer(12));
    header.setFloat64(0, captured, true);
    header.setUint32(8, number, true);
    const body = new Uint8Array(await blob.arrayBuffer());
    const message = new Uint8Array(12 + body.length);
    message.set(new Uint8Array(header.buffer), 0);
    message.set(body, 12);
    if (socket.readyState === WebSocket.OPEN) socket.send(message);
  });
  overlay.dataset.scale = String(scale);
}

// One frame per camera frame: requestVideoFrameCallback where there is one.
function pump() {
  if (!still) sendFrame();
  if (video.requestVideoFrameCallback && source === video) video.requestVideoFrameCallback(pump);
  else requestAnimationFrame(pump);
}

function shown(face) {
  return face.smoothed_emotion
    ? [face.smoothed_emotion, face.smoothed_scores] : [face.emotion, face.scores];
}

function draw(result) {
  const width = source.videoWidth || source.naturalWidth;
  const height = source.videoHeight || source.naturalHeight;
  overlay.width = width;
  overlay.height = height;
  const k = 1 / Number(overlay.dataset.scale || 1); // frame pixels -> source pixels
  const g = overlay.getContext("2d");
  g.clearRect(0, 0, width, height);
  g.lineWidth = Math.max(2, width / 320);
  g.font = `${Math.max(14, width / 40)}px system-ui, sans-serif`;
  result.faces.forEach((face, index) => {
    const [x, y, w, h] = face.box.map((v) => v * k);
    const [label, scores] = shown(face);
    g.strokeStyle = g.fillStyle = colour(label);
    g.strokeRect(x, y, w, h);
    const name = face.person ? `${face.person} ·` : `#${face.track_id || index + 1}`;
    const turned = face.emotion_status === "face_turned";
    const text = turned ? `${name} ${label ? `${label} (turned)` : "turned"}`
      : label ? `${name} ${label} ${scores[label].toFixed(2)}` : `${name} face`;
    g.fillText(text, x, Math.max(y - 6, 14));
    g.fillStyle = "rgb(0,255,0)";
    for (const [px, py] of face.keypoints) g.fillRect(px * k - 2, py * k - 2, 4, 4);
  });
}

function drawBars(result) {
  const bars = $("bars");
  bars.replaceChildren(...result.faces.map((face, index) => {
    const [, scores] = shown(face);
    const box = document.createElement("div");
    box.className = "face";
    box.textContent = face.track_id ? `track #${face.track_id}` : `face #${index + 1}`;
    if (face.pose) {
      const pose = document.createElement("div");
      pose.className = "pose";
      pose.textContent = `yaw ${face.pose.yaw.toFixed(0)}° pitch ${face.pose.pitch.toFixed(0)}° `
        + `roll ${face.pose.roll.toFixed(0)}°` + (face.emotion_status === "face_turned" ? " · turned" : "");
      box.append(pose);
    }
    for (const [label, p] of Object.entries(scores)) {
      const row = document.createElement("div");
      row.className = "bar";
      row.innerHTML = `<span>${label}</span><div><i></i></div>`;
      row.querySelector("i").style.cssText = `width:${(p * 100).toFixed(1)}%;background:${colour(label)}`;
      box.append(row);
    }
    return box;
  }));
}

function drawChart() {
  const g = chart.getContext("2d");
  g.clearRect(0, 0, chart.width, chart.height);
  const now = performance.now() / 1000;
  // Forget what is older than the chart shows (and tracks with nothing left), then draw.
  for (const [id, points] of state.tracks) {
    const recent = points.filter((p) => now - p.t <= CHART_SECONDS);
    if (recent.length) state.tracks.set(id, recent);
    else state.tracks.delete(id);
  }
  const rows = [...state.tracks.entries()].slice(-4);
  const rowHeight = chart.height / Math.max(rows.length, 1);
  rows.forEach(([id, points], row) => {
    const top = row * rowHeight;
    g.fillStyle = "#aaa";
    g.font = "11px system-ui";
    g.fillText(`#${id}`, 2, top + 12);
    for (const label of Object.keys(points[points.length - 1].scores)) {
      g.strokeStyle = colour(label);
      g.beginPath();
      points.forEach((p, i) => {
        const x = chart.width * (1 - (now - p.t) / CHART_SECONDS);
        const y = top + rowHeight - 4 - (rowHeight - 18) * (p.scores[label] || 0);
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      });
      g.stroke();
    }
  });
}

function updateStatus() {
  const now = performance.now();
  state.answers = state.answers.filter((t) => now - t < 1000);
  const sorted = [...state.rtts].sort((a, b) => a - b);
  const p50 = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  state.fps = state.answers.length;
  state.rttP50 = p50;
  const parts = [`${state.fps} fps`, `rtt p50 ${p50.toFixed(0)} ms`,
    `answered ${state.answered}`, `dropped ${state.dropped + state.gatewayDropped}`];
  if (state.connection !== "open") parts.push(state.connection);
  else if (state.detector !== "ok") parts.push(state.detector);
  if (state.notice && !source) parts.push(state.notice);
  const omitted = state.lastResult ? state.lastResult.faces_omitted : 0;
  if (omitted) parts.push(`${omitted} more ${omitted === 1 ? "face" : "faces"} found than shown (max_faces)`);
  if (state.lastError) parts.push(`last error: ${state.lastError}`);
  const status = $("status");
  status.textContent = parts.join(" · ");
  status.className = state.connection !== "open" || state.detector !== "ok" ? "warn" : "";
  drawChart();
}

async function useCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    photo.removeAttribute("src");
    video.srcObject = stream;
    await video.play();
    source = video;
    setStill(false);
  } catch (error) {
    state.notice = `no camera (${error.message}): choose a photo or video instead`;
  }
}

function useFile(file) {
  const url = URL.createObjectURL(file);
  if (file.type.startsWith("image/")) {
    video.pause();
    video.removeAttribute("src");
    video.srcObject = null;
    photo.onload = () => { source = photo; setStill(true); sendFrame(); };
    photo.src = url;
  } else {
    photo.removeAttribute("src");
    video.srcObject = null;
    video.src = url;
    video.loop = true;
    video.play().then(() => { source = video; setStill(false); });
  }
}

function setStill(value) {
  still = value;
  state.tracks.clear();
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "options", track: !still, identify: true }));
  }
}

$("camera").onclick = useCamera;
$("file").onchange = (event) => event.target.files[0] && useFile(event.target.files[0]);

config = await (await fetch("/config.json")).json();
connect();
setInterval(updateStatus, 250);
pump();
if (new URLSearchParams(location.search).get("camera") !== "off") useCamera();
