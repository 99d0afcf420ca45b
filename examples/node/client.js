#!/usr/bin/env node
// facestream from Node.js, using nothing but the protos.
//
//   npm ci
//   node client.js --target 127.0.0.1:50051 --photo ../../samples/group.jpg \
//       --frames ../../samples/frames
//   (--target defaults to $FACESTREAM_TARGET, as for every facestream client, then
//   127.0.0.1:50051)
//
// 1. Detect: one photo, printing every face and its most likely emotion.
// 2. StreamDetect: the JPEG files of --frames as a stream, printing each answer as it
//    arrives (answers come in request order, each carrying the frame_id it answers).
'use strict';

const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const REPO = path.resolve(__dirname, '..', '..');

function parseArgs(argv) {
  const args = {
    target: process.env.FACESTREAM_TARGET || '127.0.0.1:50051',
    photo: path.join(REPO, 'samples', 'group.jpg'),
    frames: path.join(REPO, 'samples', 'frames'),
    protos: path.join(REPO, 'protos'),
  };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!(key in args) || argv[i + 1] === undefined) {
      console.error(`usage: client.js [--target HOST:PORT] [--photo FILE] [--frames DIR] [--protos DIR]`);
      process.exit(2);
    }
    args[key] = argv[i + 1];
  }
  return args;
}

function loadApi(protoRoot) {
  const definition = protoLoader.loadSync('facestream/v1/detector_service.proto', {
    includeDirs: [protoRoot],
    keepCase: true, // field names exactly as in the protos: emotion_scores, frame_id
    longs: String, // uint64 frame_id arrives as a decimal string
    enums: String, // EMOTION_STATUS_OK rather than 1
    defaults: true,
  });
  return grpc.loadPackageDefinition(definition).facestream.v1;
}

function encodedImage(file) {
  return { data: fs.readFileSync(file), format: 'IMAGE_FORMAT_ENCODED' };
}

function describeFace(face, index, labels) {
  const box = face.box;
  const where = `box=(${box.x.toFixed(0)},${box.y.toFixed(0)},${box.width.toFixed(0)},${box.height.toFixed(0)})`;
  let emotion = face.emotion_status;
  if (face.emotion_status === 'EMOTION_STATUS_OK') {
    const best = face.emotion_scores.indexOf(Math.max(...face.emotion_scores));
    emotion = `${face.emotion} ${face.emotion_scores[best].toFixed(2)} (of ${labels.length} labels)`;
  }
  return `  face ${index + 1}: ${where} score=${face.score.toFixed(2)} keypoints=${face.keypoints.length} emotion=${emotion}`;
}

function detect(client, photo) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10000);
    client.Detect({ image: encodedImage(photo) }, { deadline }, (error, response) => {
      if (error) return reject(error);
      console.log(`detect ${path.basename(photo)}: ${response.faces.length} faces`);
      response.faces.forEach((face, i) => console.log(describeFace(face, i, response.emotion_labels)));
      resolve(response);
    });
  });
}

function stream(client, framesDir) {
  const files = fs.readdirSync(framesDir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  return new Promise((resolve, reject) => {
    const call = client.StreamDetect({ deadline: new Date(Date.now() + 30000) });
    const answered = [];
    call.on('data', (response) => {
      answered.push(Number(response.frame_id));
      if (response.error) {
        console.log(`frame ${response.frame_id}: error ${response.error.code} ${response.error.message}`);
        return;
      }
      const summary = response.faces.map((f) => f.emotion || f.emotion_status).join(', ');
      console.log(`frame ${response.frame_id}: ${response.faces.length} faces [${summary}]`);
    });
    call.on('error', reject);
    call.on('end', () => {
      const inOrder = answered.every((id, i) => id === i);
      console.log(`stream: ${answered.length} of ${files.length} frames answered${inOrder ? ' in order' : ' OUT OF ORDER'}`);
      resolve(answered);
    });
    files.forEach((file, i) => call.write({ frame_id: i, image: encodedImage(path.join(framesDir, file)) }));
    call.end();
  });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const api = loadApi(args.protos);
  const client = new api.DetectorService(args.target, grpc.credentials.createInsecure());
  try {
    await detect(client, args.photo);
    await stream(client, args.frames);
  } catch (error) {
    console.error(`error: ${grpc.status[error.code] || error.code}: ${error.details || error.message}`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

main();
