// The facestream page: frames from the camera (or a chosen photo or video) to the gateway
// over a WebSocket, results drawn over the picture. No build step, no downloads.

import { placeLabels } from "./labels.js";

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
  stale: 0, // answers that came back for a picture no longer shown: never drawn
  pending: false, // the chosen photo waits for its answer (or for a slot to be sent in)
  picture: 0, // which picture is on the stage: a new one with every photo, video or camera
  drawnPicture: null, // the picture the overlay's answer was computed for
  draws: [], // the last 200 overlays: frame, faces drawn, the size of the picture under them
  tracks: new Map(), // track id -> [{t, scores, name}]
  drawn: [], // the boxes and labels drawn last, in CSS pixels of the page
};
window.facestream = state;

let config = { frame_width: 640, window: 3, token_required: false };
let socket = null;
let retry = 0;
let inFlight = new Map(); // frame number -> {sentAt, picture, scale}
let frameNumber = 0;
let source = null; // the <video> or <img> being streamed
let still = false; // a photo: sent once, no tracks
let stillWaiting = false; // the photo is not sent yet: the window was full
let stillRetry = null; // a timer that sends the photo again after the gateway dropped it

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
    if (still && state.pending) sendFrame();
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
    const sent = release(message.frame);
    state.gatewayDropped = message.dropped;
    // The chosen photo is never lost: the gateway is behind or the detector away, so try again.
    if (sent && sent.picture === state.picture && still && !stillRetry) {
      stillRetry = setTimeout(() => { stillRetry = null; sendFrame(); }, 1000);
    }
    return;
  }
  if (message.type === "error") {
    const sent = message.frame !== undefined ? release(message.frame) : null;
    state.errors += 1;
    state.lastError = message.message;
    if (sent && sent.picture === state.picture && still) state.pending = false;
    return;
  }
  if (message.type !== "result") return;
  const sent = release(message.frame);
  const now = performance.now();
  if (!sent || sent.picture !== state.picture) {
    state.stale += 1; // computed for another picture: drawing it would show wrong faces
    return;
  }
  if (still && state.pending) {
    state.pending = false;
    renderStatus(); // the status line's new length moves the stage: lay it out before drawing
  }
  state.rtts.push(now - sent.sentAt);
  if (state.rtts.length > 200) state.rtts.shift();
  state.answers.push(now);
  state.answered += 1;
  state.gatewayDropped = message.dropped;
  state.detector = "ok";
  state.lastResult = message;
  for (const face of message.faces) {
    if (!face.track_id || !Object.keys(face.smoothed_scores).length) continue;
    const history = state.tracks.get(face.track_id) || [];
    history.push({ t: now / 1000, scores: face.smoothed_scores, name: face.person });
    state.tracks.set(face.track_id, history);
  }
  message.scale = sent.scale;
  message.picture = sent.picture;
  draw(message);
  drawBars(message);
}

// A frame's slot in the window is free again; a photo that waited for one is sent now.
function release(number) {
  const sent = inFlight.get(number);
  inFlight.delete(number);
  if (stillWaiting && inFlight.size < config.window) {
    stillWaiting = false;
    sendFrame();
  }
  return sent;
}

function sendFrame() {
  if (!socket || socket.readyState !== WebSocket.OPEN || !source) return;
  if (inFlight.size >= config.window) {
    if (still) stillWaiting = true; // a chosen photo waits for a slot, never dropped
    else state.dropped += 1; // never queue a camera frame: the next one will be newer
    return;
  }
  const { width, height } = sourceSize();
  if (!width || !height) return;
  const scale = Math.min(1, config.frame_width / width);
  const canvas = new OffscreenCanvas(Math.round(width * scale), Math.round(height * scale));
  canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
  const number = frameNumber++;
  inFlight.set(number, { sentAt: performance.now(), picture: state.picture, scale });
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

// The picture's own size in pixels, a video's or a photo's.
function sourceSize() {
  return { width: source.videoWidth || source.naturalWidth,
    height: source.videoHeight || source.naturalHeight };
}

// Where the picture is on the page: the source's pixels letterboxed into the stage (CSS
// object-fit: contain), in CSS pixels relative to the stage.
function pictureRect() {
  const { width, height } = sourceSize();
  const stage = $("stage").getBoundingClientRect();
  const scale = Math.min(stage.width / width, stage.height / height);
  return { x: (stage.width - width * scale) / 2, y: (stage.height - height * scale) / 2,
    width: width * scale, height: height * scale, scale };
}

function labelForms(face, index) {
  const [label, scores] = shown(face);
  const name = face.person ? `${face.person} ·` : `#${face.track_id || index + 1}`;
  const tag = face.person || `#${face.track_id || index + 1}`; // the crowd's last resort
  if (face.emotion_status === "face_turned") {
    return [label ? `${name} ${label} (turned)` : `${name} turned`, `${name} turned`, tag];
  }
  if (label) return [`${name} ${label} ${scores[label].toFixed(2)}`, `${name} ${label}`, tag];
  return [`${name} face`, tag, tag];
}

function draw(result) {
  if (!source || result.picture !== state.picture) return;
  const picture = pictureRect();
  // The overlay covers exactly the displayed picture, at the screen's pixel density.
  const density = window.devicePixelRatio || 1;
  Object.assign(overlay.style, { left: `${picture.x}px`, top: `${picture.y}px`,
    width: `${picture.width}px`, height: `${picture.height}px` });
  overlay.width = Math.round(picture.width * density);
  overlay.height = Math.round(picture.height * density);
  const g = overlay.getContext("2d");
  g.setTransform(density, 0, 0, density, 0, 0);
  g.clearRect(0, 0, picture.width, picture.height);
  // frame pixels (what was sent) -> source pixels -> CSS pixels on the page
  const k = picture.scale / result.scale;
  const fontPx = Math.max(12, Math.min(18, picture.width / 45));
  g.lineWidth = 2;
  g.font = `${fontPx}px system-ui, sans-serif`;
  g.textBaseline = "top";
  const faces = result.faces.map((face, index) => ({ face, index,
    box: face.box.map((v) => v * k) }));
  faces.sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]); // largest first
  const forms = faces.map(({ face, index }) => labelForms(face, index));
  const sizes = forms.map((texts) => texts.map((text) => [g.measureText(text).width + 4,
    fontPx + 4]));
  const placements = placeLabels(faces.map(({ box }, i) => ({ box, sizes: sizes[i] })),
    picture.width, picture.height);
  const stage = $("stage").getBoundingClientRect();
  state.drawn = [];
  // What was drawn over what (the picture's own size names it): tests check they match.
  state.draws.push({ frame: result.frame, faces: result.faces.length, ...sourceSize() });
  if (state.draws.length > 200) state.draws.shift();
  state.drawnPicture = result.picture;
  faces.forEach(({ face, box }, i) => {
    const [x, y, w, h] = box;
    const [label] = shown(face);
    g.strokeStyle = colour(label);
    g.strokeRect(x, y, w, h);
    const placement = placements[i];
    if (placement) {
      const [width, height] = sizes[i][placement.form];
      g.fillStyle = "rgba(0,0,0,0.55)";
      g.fillRect(placement.x, placement.y, width, height);
      g.fillStyle = colour(label);
      g.fillText(forms[i][placement.form], placement.x + 2, placement.y + 2);
    }
    g.fillStyle = "rgb(0,255,0)";
    for (const [px, py] of face.keypoints) g.fillRect(px * k - 2, py * k - 2, 4, 4);
    state.drawn.push({ box: [stage.left + picture.x + x, stage.top + picture.y + y, w, h],
      label: placement ? [placement.x, placement.y, ...sizes[i][placement.form]] : null });
  });
}

function drawBars(result) {
  const bars = $("bars");
  bars.replaceChildren(...result.faces.map((face, index) => {
    const [, scores] = shown(face);
    const box = document.createElement("div");
    box.className = "face";
    const title = document.createElement("div");
    title.className = "title";
    const number = face.track_id ? `track #${face.track_id}` : `face #${index + 1}`;
    // The person's name when the recognizer knows them, as on the boxes.
    title.textContent = face.person ? `${face.person} · ${number}` : number;
    box.append(title);
    if (face.pose) {
      const pose = document.createElement("div");
      pose.className = "pose";
      pose.textContent = `yaw ${face.pose.yaw.toFixed(0)}° pitch ${face.pose.pitch.toFixed(0)}° `
        + `roll ${face.pose.roll.toFixed(0)}°` + (face.emotion_status === "face_turned" ? " · turned" : "");
      box.append(pose);
    }
    box.append(...expressionRows(face));
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

// What the face's expression says beyond the label: the emotion against the person's own
// resting face, where the eyes look, and the strongest blendshapes as bars.
function expressionRows(face) {
  const rows = [];
  const line = (className, text) => {
    const row = document.createElement("div");
    row.className = className;
    row.textContent = text;
    rows.push(row);
  };
  const raw = face.smoothed_emotion || face.emotion;
  if (face.relative_emotion) line("relative", `relative to their rest: ${face.relative_emotion}`
    + (raw && raw !== face.relative_emotion ? ` (label: ${raw})` : ""));
  else if (face.track_id && raw) line("relative", "learning their resting face…");
  if (face.gaze) {
    line("gaze", `gaze yaw ${face.gaze.yaw.toFixed(0)}° pitch ${face.gaze.pitch.toFixed(0)}° · `
      + (face.looking ? "looking at the camera" : "looking away"));
  } else if (face.expression_status && face.expression_status !== "not_requested") {
    line("gaze", `expression: ${face.expression_status.replaceAll("_", " ")}`);
  }
  const strongest = Object.entries(face.blendshapes || {})
    .filter(([name]) => name !== "_neutral").sort((a, b) => b[1] - a[1]).slice(0, 5);
  for (const [name, score] of strongest) {
    const row = document.createElement("div");
    row.className = "bar shape";
    row.innerHTML = `<span>${name}</span><div><i></i></div>`;
    row.querySelector("i").style.width = `${(score * 100).toFixed(1)}%`;
    rows.push(row);
  }
  return rows;
}

// The last minute of each track's smoothed emotions (up to four tracks), on a time axis,
// with the labels' colours as a legend below.
function drawChart() {
  // The canvas takes its CSS box at the screen's density: sharp text at any window size.
  const box = chart.getBoundingClientRect(), density = window.devicePixelRatio || 1;
  const width = box.width, height = box.height;
  if (chart.width !== Math.round(width * density)) chart.width = Math.round(width * density);
  if (chart.height !== Math.round(height * density)) chart.height = Math.round(height * density);
  const g = chart.getContext("2d");
  g.setTransform(density, 0, 0, density, 0, 0);
  g.clearRect(0, 0, width, height);
  const now = performance.now() / 1000;
  // Forget what is older than the chart shows (and tracks with nothing left), then draw.
  for (const [id, points] of state.tracks) {
    const recent = points.filter((p) => now - p.t <= CHART_SECONDS);
    if (recent.length) state.tracks.set(id, recent);
    else state.tracks.delete(id);
  }
  const rows = [...state.tracks.entries()].slice(-4);
  const labels = rows.length ? Object.keys(rows[rows.length - 1][1].slice(-1)[0].scores) : [];
  const legendHeight = 16 * Math.ceil(labels.length / 4) + 4;
  const axisHeight = 16;
  const plotHeight = height - legendHeight - axisHeight;
  const rowHeight = plotHeight / Math.max(rows.length, 1);
  const xOf = (t) => width * (1 - (now - t) / CHART_SECONDS);
  g.font = "11px system-ui";
  g.strokeStyle = "#444";
  g.fillStyle = "#888";
  for (const secondsAgo of [60, 45, 30, 15, 0]) { // the time axis
    const x = Math.min(Math.max(xOf(now - secondsAgo), 1), width - 1);
    g.beginPath(); g.moveTo(x, 0); g.lineTo(x, plotHeight); g.stroke();
    const text = secondsAgo ? `-${secondsAgo} s` : "now";
    const textWidth = g.measureText(text).width;
    g.fillText(text, Math.min(Math.max(x - textWidth / 2, 0), width - textWidth), plotHeight + 12);
  }
  if (!rows.length) g.fillText("tracked faces' emotions appear here", 8, plotHeight / 2);
  rows.forEach(([id, points], row) => {
    const top = row * rowHeight;
    g.strokeStyle = "#555";
    g.strokeRect(0.5, top + 0.5, width - 1, rowHeight - 1);
    g.fillStyle = "#ccc";
    g.fillText(points[points.length - 1].name || `track #${id}`, 4, top + 12);
    for (const label of Object.keys(points[points.length - 1].scores)) {
      g.strokeStyle = colour(label);
      g.beginPath();
      points.forEach((p, i) => {
        const y = top + rowHeight - 3 - (rowHeight - 20) * (p.scores[label] || 0);
        if (i === 0) g.moveTo(xOf(p.t), y); else g.lineTo(xOf(p.t), y);
      });
      g.stroke();
    }
  });
  labels.forEach((label, i) => { // the legend
    const x = (i % 4) * (width / 4), y = plotHeight + axisHeight + 4 + 16 * Math.floor(i / 4);
    g.fillStyle = colour(label);
    g.fillRect(x + 2, y + 3, 10, 8);
    g.fillStyle = "#ccc";
    g.fillText(label, x + 15, y + 11);
  });
}

function renderStatus() {
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
  if (state.pending) parts.push(stillWaiting ? "photo waiting to be sent" : "photo sent, awaiting its answer");
  const omitted = state.lastResult ? state.lastResult.faces_omitted : 0;
  if (omitted) parts.push(`${omitted} more ${omitted === 1 ? "face" : "faces"} found than shown (max_faces)`);
  if (state.lastError) parts.push(`last error: ${state.lastError}`);
  const status = $("status");
  status.textContent = parts.join(" · ");
  status.className = state.connection !== "open" || state.detector !== "ok" ? "warn" : "";
}

function updateStatus() {
  renderStatus();
  drawChart();
}

async function useCamera() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    photo.removeAttribute("src");
    show(video);
    video.srcObject = stream;
    await video.play();
    newPicture(video, false);
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
    newPicture(null, true); // the previous picture's overlay goes at once
    photo.onload = () => { newPicture(photo, true); show(photo); sendFrame(); };
    photo.src = url;
  } else {
    photo.removeAttribute("src");
    video.srcObject = null;
    video.src = url;
    video.loop = true;
    show(video);
    newPicture(null, false);
    video.play().then(() => newPicture(video, false));
  }
}

// Only the picture in use takes the stage: no empty element beside it.
function show(element) {
  video.hidden = element !== video;
  photo.hidden = element !== photo;
}

// Another picture takes the stage: nothing computed for the one before is drawn over it.
function newPicture(element, isStill) {
  state.picture += 1;
  source = element;
  state.lastResult = null;
  state.pending = isStill;
  stillWaiting = false;
  clearTimeout(stillRetry);
  stillRetry = null;
  overlay.getContext("2d").clearRect(0, 0, overlay.width, overlay.height);
  $("bars").replaceChildren();
  if (element) setStill(isStill);
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

// A new window size moves the picture: the overlay follows at once.
new ResizeObserver(() => state.lastResult && draw(state.lastResult)).observe($("stage"));

config = await (await fetch("/config.json")).json();
connect();
setInterval(updateStatus, 250);
pump();
if (new URLSearchParams(location.search).get("camera") !== "off") useCamera();
