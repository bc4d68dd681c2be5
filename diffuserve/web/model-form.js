// The form follows the chosen model, as GET /v1/models describes it: its modes (capabilities), the limits and
// defaults of each number, its schedulers, the LoRAs that fit it, its reference-image types and, for a LoRA
// model, the bases it runs on. Nothing here names a model.

import { $, $$, h } from './dom.js';
import { clearErrors } from './field-errors.js';

const BASE_MODES = ['txt2img', 'img2img', 'inpaint'];
const NUMBERS = ['numSamples', 'numInferenceSteps', 'guidance', 'width', 'height', 'strength'];

export class ModelForm {
  constructor(form, { loras, refs, onChange }) {
    this.form = form;
    this.loras = loras;
    this.refs = refs;
    this.onChange = onChange;
    this.models = [];
    this.select = form.elements.modelId;
    this.select.addEventListener('change', () => { this.applyModel(); clearErrors(); });
    for (const input of [...$$('[name=mode]', form), form.elements.ipAdapter]) {
      input.addEventListener('change', () => { this.updateMode(); clearErrors(); });
    }
  }

  setModels(models) {
    this.models = models;
    const previous = this.select.value;
    this.select.replaceChildren(...models.map((m) => h('option', { value: m.id }, `${m.name} (${m.type})`)));
    if (models.some((m) => m.id === previous)) this.select.value = previous;
    this.applyModel();
  }

  get model() { return this.models.find((m) => m.id === this.select.value) ?? null; }

  input(name) { return this.model?.inputs?.find((i) => i.name === name) ?? null; }

  // The generate endpoint's mode: txt2img, img2img, inpaint, each optionally -ip-adapter.
  mode() {
    const base = $('[name=mode]:checked', this.form)?.value ?? 'txt2img';
    const ip = this.form.elements.ipAdapter;
    return ip.checked && !ip.disabled ? `${base}-ip-adapter` : base;
  }

  setMode(mode) {
    const base = mode.replace(/-ip-adapter$|_ip_adapter$/, '').replaceAll('_', '-');
    const radio = $(`[name=mode][value="${base}"]`, this.form);
    if (radio && !radio.disabled) radio.checked = true;
    this.form.elements.ipAdapter.checked = /ip.adapter$/.test(mode);
    this.updateMode();
  }

  selectModel(id) {
    if (!this.models.some((m) => m.id === id)) return false;
    this.select.value = id;
    this.applyModel();
    return true;
  }

  applyModel() {
    const model = this.model;
    const capabilities = new Set(model?.capabilities ?? []);
    for (const radio of $$('[name=mode]', this.form)) {
      radio.disabled = !capabilities.has(radio.value);
      radio.closest('label').classList.toggle('disabled', radio.disabled);
    }
    if ($('[name=mode]:checked', this.form)?.disabled) {
      const first = $$('[name=mode]', this.form).find((r) => !r.disabled);
      if (first) first.checked = true;
    }
    for (const name of NUMBERS) this.limit(name);
    this.options('scheduler', { blank: (d) => `model default${d ? ` (${d})` : ''}` });
    this.options('ipAdapterType', {});
    const base = this.input('baseModelId');
    $('[data-field=baseModelId]', this.form).hidden = !base;
    if (base) this.options('baseModelId', {});
    const concepts = this.input('concepts');
    this.loras.setOptions(concepts?.allowedValues ?? [], concepts?.maxLength);
    const images = this.input('ipAdapterImages');
    const scales = this.input('ipAdapterScales');
    this.refs.setLimits({ max: images?.maxLength, scaleMin: scales?.min, scaleMax: scales?.max });
    const modes = BASE_MODES.filter((m) => capabilities.has(m));
    $('#model-info').textContent = model
      ? [model.type, modes.join(' · '), model.shortDescription].filter(Boolean).join(' — ') : '';
    $('#demo-note').hidden = !/random weights/i.test(model?.shortDescription ?? '');
    this.updateMode();
  }

  // min, max, step, the default as placeholder and the description as tooltip, from the model's input.
  limit(name) {
    const control = this.form.elements[name];
    const spec = this.input(name);
    if (!control || !spec) return;
    for (const key of ['min', 'max', 'step']) {
      if (spec[key] !== undefined && spec[key] !== null) control[key] = spec[key]; else control.removeAttribute(key);
    }
    control.placeholder = spec.default === undefined || spec.default === null ? '' : String(spec.default);
    control.closest('label').title = spec.description ?? '';
  }

  options(name, { blank }) {
    const control = this.form.elements[name];
    const spec = this.input(name);
    const values = spec?.allowedValues ?? [];
    const current = control.value;
    const options = values.map((v) => h('option', { value: v }, v));
    if (blank) options.unshift(h('option', { value: '' }, blank(spec?.default)));
    control.replaceChildren(...options);
    if (values.includes(current)) control.value = current;
    else if (!blank && spec?.default !== undefined && values.includes(spec.default)) control.value = spec.default;
    control.closest('label').title = spec?.description ?? '';
  }

  // Shows the controls the mode uses; the body takes only those (body.js), and hidden ones are not checked.
  updateMode() {
    const base = $('[name=mode]:checked', this.form)?.value ?? 'txt2img';
    const capabilities = new Set(this.model?.capabilities ?? []);
    const ip = this.form.elements.ipAdapter;
    ip.disabled = !capabilities.has(`${base}_ip_adapter`);
    ip.closest('label').classList.toggle('disabled', ip.disabled);
    const mode = this.mode();
    const needs = { image: base !== 'txt2img', mask: base === 'inpaint', ip: mode.endsWith('ip-adapter') };
    for (const el of $$('[data-needs]', this.form)) el.hidden = !needs[el.dataset.needs];
    $('#endpoint').textContent = `POST /v1/generate/${mode}`;
    this.onChange();
  }
}
