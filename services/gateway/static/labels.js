// Where each face's label goes: the rules of client/labels.py (the Python overlay's), for
// the page. Inside the frame, never over another label, touching its own face's column, off
// other faces' boxes where a free place exists and never over another face's middle; the
// short form ("#12 happy"), then the tag ("#12"), before a label is left out.

const intersects = (a, b) =>
  a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];

const FACE_MIDDLE = 0.6; // the share of a box's width and height never under a label
const middle = ([x, y, w, h]) => {
  const margin = (1 - FACE_MIDDLE) / 2;
  return [x + w * margin, y + h * margin, w * FACE_MIDDLE, h * FACE_MIDDLE];
};

function candidates(box, width, height, frameW, frameH, gap) {
  const [x, y, w, h] = box;
  const shifts = [0, w - width, -width / 2, w - width / 2];
  const rows = [[y - height - gap, false], [y + h + gap, false]];
  const tries = [];
  for (const shift of shifts) for (const [row, inside] of rows) tries.push([row, inside, shift]);
  for (const shift of shifts) tries.push([y + gap, true, shift]);
  const corners = [];
  for (const [row, inside, shift] of tries) {
    const cx = Math.min(Math.max(x + shift, 0), frameW - width);
    const cy = Math.min(Math.max(row, 0), frameH - height);
    if (!inside && intersects([cx, cy, width, height], box)) continue;
    if (!corners.some(([px, py]) => px === cx && py === cy)) corners.push([cx, cy]);
  }
  return corners;
}

// requests: [{box: [x, y, w, h], sizes: [[width, height], ...]}] in order of priority;
// answers [{form, x, y}] or null per request.
export function placeLabels(requests, frameW, frameH, gap = 2) {
  const placed = [];
  return requests.map((request, index) => {
    const boxes = requests.filter((_, i) => i !== index).map((r) => r.box);
    // Any form clear of every other face's box; else, in a crowd, the tag (the last form)
    // clear of their middles.
    const last = request.sizes.length - 1;
    const passes = [[boxes, [...request.sizes.keys()]], [boxes.map(middle), [last]]];
    for (const [others, forms] of passes) {
      for (const form of forms) {
        const [width, height] = request.sizes[form];
        if (width > frameW || height > frameH) continue;
        for (const [cx, cy] of candidates(request.box, width, height, frameW, frameH, gap)) {
          const rect = [cx, cy, width, height];
          if (placed.some((other) => intersects(rect, other))) continue;
          if (others.some((other) => intersects(rect, other))) continue;
          placed.push(rect);
          return { form, x: cx, y: cy };
        }
      }
    }
    return null;
  });
}
