// The inpainting mask, painted over the input image with a round brush. The canvas holds the mask at the image's
// own size; what the brush covered (alpha >= 50%) is sent white (repaint), the rest black (keep), as the server
// binarises it the same way.

import { $ } from './dom.js';

const INK = '#ff2d75';

export class MaskPainter {
  constructor(root, { onChange = () => {} } = {}) {
    this.root = root;
    this.onChange = onChange;
    this.stage = $('.stage', root);
    this.image = $('.stage img', root);
    this.canvas = $('canvas.mask', root);
    this.feather = $('canvas.feather', root);
    this.cursor = $('.brush-cursor', root);
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    this.size = $('[name=brushSize]', root);
    this.last = null;
    this.waiting = [];  // masks to load once the image has loaded: [resolve, reject]
    this.image.addEventListener('load', () => {
      this.fit();
      for (const [resolve] of this.waiting.splice(0)) resolve();
    });
    this.image.addEventListener('error', () => {
      for (const [, reject] of this.waiting.splice(0)) reject(new Error('The input image cannot be shown.'));
    });
    $('[data-action=clear]', root).addEventListener('click', () => this.clear());
    $('[data-action=invert]', root).addEventListener('click', () => this.invert());
    $('[name=featherPreview]', root).addEventListener('change', () => this.drawFeather());
    $('[name=maskFile]', root).addEventListener('change', (event) => {
      const file = event.target.files[0];
      if (file) this.load(URL.createObjectURL(file));
      event.target.value = '';
    });
    this.size.addEventListener('input', () => this.moveCursor(this.lastHover));
    this.listen();
  }

  get erasing() { return $('[name=brushTool]:checked', this.root)?.value === 'erase'; }

  setImage(url) {
    if (!url) {
      this.stage.hidden = true;
      this.image.removeAttribute('src');
      return;
    }
    if (this.image.getAttribute('src') !== url) this.image.src = url;
    this.stage.hidden = false;
  }

  // A new image resizes the canvas to its pixels (which clears it), unless it already has that size.
  fit() {
    const { naturalWidth: w, naturalHeight: h } = this.image;
    if (this.canvas.width === w && this.canvas.height === h) return;
    this.canvas.width = this.feather.width = w;
    this.canvas.height = this.feather.height = h;
    this.stage.style.aspectRatio = `${w} / ${h}`;
    this.changed();
  }

  get ready() { return !this.stage.hidden && this.image.complete && this.image.naturalWidth > 0; }

  listen() {
    const c = this.canvas;
    c.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      c.setPointerCapture(event.pointerId);
      this.last = this.point(event);
      this.stroke(this.last, this.last);
      event.preventDefault();
    });
    c.addEventListener('pointermove', (event) => {
      this.lastHover = event;
      this.moveCursor(event);
      if (!this.last) return;
      const next = this.point(event);
      this.stroke(this.last, next);
      this.last = next;
    });
    const end = () => {
      if (!this.last) return;
      this.last = null;
      this.changed();
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('pointerleave', () => { this.cursor.hidden = true; });
  }

  // From screen pixels to the mask's (image) pixels.
  scale() { return this.canvas.width / this.canvas.getBoundingClientRect().width; }

  point(event) {
    const rect = this.canvas.getBoundingClientRect();
    const s = this.scale();
    return { x: (event.clientX - rect.left) * s, y: (event.clientY - rect.top) * s };
  }

  moveCursor(event) {
    if (!event) return;
    const rect = this.canvas.getBoundingClientRect();
    const d = Number(this.size.value) / this.scale();
    Object.assign(this.cursor.style, {
      width: `${d}px`, height: `${d}px`,
      left: `${event.clientX - rect.left - d / 2}px`, top: `${event.clientY - rect.top - d / 2}px`,
    });
    this.cursor.hidden = false;
  }

  stroke(from, to) {
    const ctx = this.ctx;
    ctx.globalCompositeOperation = this.erasing ? 'destination-out' : 'source-over';
    ctx.strokeStyle = ctx.fillStyle = INK;
    ctx.lineWidth = Number(this.size.value);
    ctx.lineCap = ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x + 0.01, to.y);
    ctx.stroke();
    ctx.globalCompositeOperation = 'source-over';
  }

  pixels() { return this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height); }

  // Rewrites each pixel's coverage with fn(alpha) -> alpha, in the ink colour.
  mapAlpha(fn) {
    const data = this.pixels();
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      px[i + 3] = fn(px[i + 3], px[i], px[i + 1], px[i + 2]);
      px[i] = 0xff; px[i + 1] = 0x2d; px[i + 2] = 0x75;
    }
    this.ctx.putImageData(data, 0, 0);
    this.changed();
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.changed();
  }

  invert() { this.mapAlpha((a) => 255 - a); }

  isEmpty() {
    if (!this.canvas.width) return true;
    const px = this.pixels().data;
    for (let i = 3; i < px.length; i += 4) if (px[i] >= 128) return false;
    return true;
  }

  // A black-and-white mask file (white = repaint) onto the canvas, stretched to the image's size.
  async load(url) {
    if (!this.ready) await new Promise((resolve, reject) => { this.waiting.push([resolve, reject]); });
    await new Promise((resolve, reject) => {
      const mask = new Image();
      mask.onload = () => {
        this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
        this.ctx.drawImage(mask, 0, 0, this.canvas.width, this.canvas.height);
        this.mapAlpha((_a, r, g, b) => ((r + g + b) / 3 >= 128 ? 255 : 0));
        resolve();
      };
      mask.onerror = () => reject(new Error('The mask file is not an image.'));
      mask.src = url;
    });
  }

  // The mask as a PNG data URL: white where painted, black elsewhere.
  toDataURL() {
    const { width, height } = this.canvas;
    const src = this.pixels().data;
    const out = new ImageData(width, height);
    for (let i = 0; i < src.length; i += 4) {
      const v = src[i + 3] >= 128 ? 255 : 0;
      out.data[i] = out.data[i + 1] = out.data[i + 2] = v;
      out.data[i + 3] = 255;
    }
    const canvas = Object.assign(document.createElement('canvas'), { width, height });
    canvas.getContext('2d').putImageData(out, 0, 0);
    return canvas.toDataURL('image/png');
  }

  // How the server blends the repainted area into the image: the mask grown and blurred by about 1/64 of the
  // image's shorter side (engine/images.py merge_inpaint), shown instead of the hard-edged mask.
  drawFeather() {
    const on = $('[name=featherPreview]', this.root).checked && this.canvas.width > 0;
    this.feather.hidden = !on;
    this.canvas.classList.toggle('under-feather', on);
    if (!on) return;
    const { width, height } = this.canvas;
    const r = Math.max(1, Math.round(Math.min(width, height) / 64));
    const ctx = this.feather.getContext('2d');
    ctx.clearRect(0, 0, width, height);
    ctx.filter = `blur(${r}px)`;
    for (let a = 0; a < 8; a += 1) {
      ctx.drawImage(this.canvas, Math.round(r * Math.cos((a * Math.PI) / 4)), Math.round(r * Math.sin((a * Math.PI) / 4)));
    }
    ctx.filter = 'none';
    ctx.drawImage(this.canvas, 0, 0);
  }

  changed() {
    this.drawFeather();
    this.onChange(this);
  }
}
