// The mask: a canvas as large as the photo, painted in one opaque colour (shown translucent by
// the page) where the holes are. It is always rebuilt from a list of strokes (plus the mask found
// with the photo), so undo and redo replay strokes instead of keeping copies of 12 MP pixels.
// Sent to the server as a PNG, black with the holes bright: white / > 127 = hole, the
// convention of ganrestore's mask files.

export const TINT = 'rgb(255, 40, 120)';

export class MaskPainter {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.strokes = [];
    this.base = null; // a canvas: the mask found with the photo, tinted
    this.current = null;
  }

  reset(width, height) {
    this.canvas.width = width;
    this.canvas.height = height;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.strokes = [];
    this.base = null;
    this.current = null;
    this.redraw();
  }

  // Whether any hole is painted (erasing alone leaves none).
  get hasHoles() {
    return this.base !== null || this.strokes.some((stroke) => stroke.tool === 'brush');
  }

  // Starts a stroke of `tool` ('brush' or 'eraser') `width` image pixels wide at `point`.
  begin(point, tool, width) {
    this.current = { tool, width, points: [point] };
    this.paintSegment(this.current, point, point);
  }

  extend(point) {
    if (!this.current) return;
    const points = this.current.points;
    const last = points[points.length - 1];
    if (Math.hypot(point.x - last.x, point.y - last.y) < 0.5) return;
    points.push(point);
    this.paintSegment(this.current, last, point);
  }

  // Ends the stroke and returns it (null when none was started).
  end() {
    const stroke = this.current;
    this.current = null;
    if (stroke) this.strokes.push(stroke);
    return stroke;
  }

  setState(strokes, base) {
    this.strokes = strokes;
    this.base = base;
    this.redraw();
  }

  redraw() {
    const { context, canvas } = this;
    context.globalCompositeOperation = 'source-over';
    context.clearRect(0, 0, canvas.width, canvas.height);
    if (this.base) context.drawImage(this.base, 0, 0);
    for (const stroke of this.strokes) {
      const points = stroke.points;
      this.paintSegment(stroke, points[0], points[0]);
      for (let i = 1; i < points.length; i += 1) {
        this.paintSegment(stroke, points[i - 1], points[i]);
      }
    }
  }

  paintSegment(stroke, from, to) {
    const context = this.context;
    context.globalCompositeOperation = stroke.tool === 'eraser' ? 'destination-out' : 'source-over';
    context.strokeStyle = TINT;
    context.fillStyle = TINT;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.lineWidth = stroke.width;
    context.beginPath();
    if (from === to) {
      context.arc(from.x, from.y, stroke.width / 2, 0, 2 * Math.PI);
      context.fill();
    } else {
      context.moveTo(from.x, from.y);
      context.lineTo(to.x, to.y);
      context.stroke();
    }
    context.globalCompositeOperation = 'source-over';
  }

  // The mask as a PNG blob: black, holes bright (pixels more than half covered).
  toPng() {
    const out = document.createElement('canvas');
    out.width = this.canvas.width;
    out.height = this.canvas.height;
    const context = out.getContext('2d');
    context.fillStyle = '#000';
    context.fillRect(0, 0, out.width, out.height);
    context.drawImage(this.canvas, 0, 0);
    return new Promise((resolve) => out.toBlob(resolve, 'image/png'));
  }
}

// A mask image (white = hole) -> a canvas with the holes in TINT and the rest transparent.
export function tintedMask(image) {
  const canvas = document.createElement('canvas');
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const data = pixels.data;
  for (let i = 0; i < data.length; i += 4) {
    const hole = Math.max(data[i], data[i + 1], data[i + 2]) > 127;
    data[i] = 255;
    data[i + 1] = 40;
    data[i + 2] = 120;
    data[i + 3] = hole ? 255 : 0;
  }
  context.putImageData(pixels, 0, 0);
  return canvas;
}
