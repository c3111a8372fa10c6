// Zoom and pan: the stage (photo, mask, comparison) is one element placed by a CSS transform,
// so a 12 MP photo moves without being redrawn. Coordinates: "client" are the browser's,
// "image" are pixels of the photo.

const MIN_SCALE = 0.02;
const MAX_SCALE = 32;
const FIT_MAX = 4;

export class View {
  constructor(viewport, stage, label) {
    this.viewport = viewport;
    this.stage = stage;
    this.label = label;
    this.width = 0;
    this.height = 0;
    this.scale = 1;
    this.x = 0;
    this.y = 0;
  }

  setImageSize(width, height) {
    this.width = width;
    this.height = height;
    this.stage.style.width = `${width}px`;
    this.stage.style.height = `${height}px`;
    this.fit();
  }

  // The whole photo in view, centred (never enlarged more than FIT_MAX times).
  fit() {
    if (!this.width) return;
    const box = this.viewport.getBoundingClientRect();
    const scale = Math.min(box.width / this.width, box.height / this.height, FIT_MAX) * 0.96;
    this.scale = Math.max(MIN_SCALE, scale);
    this.x = (box.width - this.width * this.scale) / 2;
    this.y = (box.height - this.height * this.scale) / 2;
    this.apply();
  }

  // Zoom to `scale`, keeping the point under (clientX, clientY) where it is.
  zoomTo(scale, clientX, clientY) {
    const box = this.viewport.getBoundingClientRect();
    const px = (clientX ?? box.left + box.width / 2) - box.left;
    const py = (clientY ?? box.top + box.height / 2) - box.top;
    const next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    this.x = px - ((px - this.x) * next) / this.scale;
    this.y = py - ((py - this.y) * next) / this.scale;
    this.scale = next;
    this.apply();
  }

  zoomBy(factor, clientX, clientY) {
    this.zoomTo(this.scale * factor, clientX, clientY);
  }

  panBy(dx, dy) {
    this.x += dx;
    this.y += dy;
    this.apply();
  }

  toImage(clientX, clientY) {
    const box = this.viewport.getBoundingClientRect();
    return {
      x: (clientX - box.left - this.x) / this.scale,
      y: (clientY - box.top - this.y) / this.scale,
    };
  }

  apply() {
    this.stage.style.transform = `translate(${this.x}px, ${this.y}px) scale(${this.scale})`;
    this.label.textContent = `${Math.round(this.scale * 100)} %`;
    this.viewport.dispatchEvent(new CustomEvent('viewchange'));
  }
}
