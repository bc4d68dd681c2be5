// The form's repeated rows: LoRA concepts (model + scale) and IP-Adapter reference images (image + influence).

import { $, $$, h } from './dom.js';
import { ImageSlot } from './image-slot.js';

const clone = (id) => document.getElementById(id).content.firstElementChild.cloneNode(true);

export class LoraList {
  constructor({ onChange }) {
    this.rows = $('#lora-rows');
    this.button = $('#add-lora');
    this.onChange = onChange;
    this.options = [];
    this.max = 8;
    this.button.addEventListener('click', () => this.add());
  }

  // The LoRAs that fit the chosen model (its `concepts` input): none hides the section.
  setOptions(ids, max) {
    this.options = ids;
    this.max = max ?? 8;
    $('#loras').hidden = ids.length === 0;
    for (const row of $$('.lora', this.rows)) this.fill($('select', row));
    this.update();
  }

  fill(select) {
    const current = select.value;
    select.replaceChildren(...this.options.map((id) => h('option', { value: id }, id)));
    if (this.options.includes(current)) select.value = current;
  }

  add({ modelId, scale } = {}) {
    const row = clone('lora-row');
    this.fill($('select', row));
    if (modelId) {
      if (!this.options.includes(modelId)) $('select', row).append(h('option', { value: modelId }, modelId));
      $('select', row).value = modelId;
    }
    if (scale !== undefined) $('[name=loraScale]', row).value = scale;
    $('.remove', row).addEventListener('click', () => { row.remove(); this.update(); this.onChange(); });
    this.rows.append(row);
    this.update();
    this.onChange();
    return row;
  }

  update() { this.button.disabled = $$('.lora', this.rows).length >= this.max || !this.options.length; }

  set(concepts) {
    this.rows.replaceChildren();
    for (const c of concepts ?? []) this.add(typeof c === 'string' ? { modelId: c, scale: 1 } : c);
    this.update();
  }

  // [{modelId, scale}] for the body (nothing while the section is hidden).
  value() {
    if ($('#loras').hidden) return [];
    return $$('.lora', this.rows).map((row) => ({
      modelId: $('select', row).value, scale: Number($('[name=loraScale]', row).value),
    }));
  }
}

export class ReferenceList {
  constructor({ onChange }) {
    this.rows = $('#refs');
    this.button = $('#add-ref');
    this.onChange = onChange;
    this.slots = [];
    this.max = 8;
    this.button.addEventListener('click', () => this.add());
  }

  setLimits({ max, scaleMin, scaleMax } = {}) {
    this.max = max ?? 8;
    this.scale = { min: scaleMin ?? 0, max: scaleMax ?? 1 };
    for (const slot of this.slots) this.limit(slot.root);
    this.update();
  }

  limit(row) {
    const input = $('[name=refScale]', row);
    if (this.scale) Object.assign(input, { min: this.scale.min, max: this.scale.max });
  }

  add({ assetId, scale } = {}) {
    const row = clone('ref-row');
    const slot = new ImageSlot(row, { field: 'ipAdapterImages', onChange: () => this.onChange() });
    this.limit(row);
    if (scale !== undefined) $('[name=refScale]', row).value = scale;
    $('.remove', row).addEventListener('click', () => {
      row.remove();
      this.slots = this.slots.filter((s) => s !== slot);
      this.update();
      this.onChange();
    });
    this.rows.append(row);
    this.slots.push(slot);
    this.update();
    if (assetId) return slot.setAsset(assetId).then(() => slot);
    return Promise.resolve(slot);
  }

  update() { this.button.disabled = this.slots.length >= this.max; }

  async set(ids, scales) {
    this.rows.replaceChildren();
    this.slots = [];
    const list = ids ?? [];
    await Promise.all(list.map((id, i) => this.add({ assetId: id, scale: scales?.[i] ?? scales?.[0] })));
    if (!list.length) await this.add();
  }

  // {ipAdapterImages, ipAdapterScales} of the rows that hold an image.
  async value() {
    const chosen = [];
    for (const slot of this.slots) {
      const id = await slot.value();
      if (id) chosen.push({ id, scale: Number($('[name=refScale]', slot.root).value) });
    }
    return { ipAdapterImages: chosen.map((c) => c.id), ipAdapterScales: chosen.map((c) => c.scale) };
  }

  // Asset ids and scales as they stand (for saving the form), without waiting for uploads.
  snapshot() {
    const rows = this.slots.filter((s) => s.assetId);
    return { ids: rows.map((s) => s.assetId), scales: rows.map((s) => Number($('[name=refScale]', s.root).value)) };
  }
}
