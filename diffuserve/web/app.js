// The diffuserve web page: a client of the public REST API under /v1, in ES modules with no build step.
// This module wires the parts together; each part lives in the module named for it.

import { api } from './api.js';
import { setUpAuth } from './auth.js';
import { applyParameters, buildBody, save, saved } from './body.js';
import { $, debounce } from './dom.js';
import { checkControls, clearErrorAt, clearErrors, showError } from './field-errors.js';
import { Gallery } from './gallery.js';
import { ImageSlot } from './image-slot.js';
import { LoraList, ReferenceList } from './lists.js';
import { MaskPainter } from './mask-painter.js';
import { ModelForm } from './model-form.js';
import { Queue } from './queue.js';

const form = $('#gen');
const ctx = { form };
const persist = debounce(() => save(ctx), 300);
ctx.loras = new LoraList({ onChange: persist });
ctx.refs = new ReferenceList({ onChange: persist });
ctx.painter = new MaskPainter($('#painter'));
ctx.image = new ImageSlot($('#image-slot'), {
  field: 'image',
  onChange: (slot) => { ctx.painter.setImage(slot.url); persist(); },
});
ctx.models = new ModelForm(form, { loras: ctx.loras, refs: ctx.refs, onChange: persist });

async function useParameters(params) {
  clearErrors();
  try {
    await applyParameters(params, ctx);
  } catch (err) {
    showError(err);
  }
  save(ctx);
  form.scrollIntoView({ block: 'start' });
}

const cardActions = {
  async useAsInput(asset) {
    clearErrors();
    const mode = ctx.models.mode();
    if (mode.startsWith('txt2img')) ctx.models.setMode(mode.replace('txt2img', 'img2img'));
    await ctx.image.setAsset(asset);
    form.scrollIntoView({ block: 'start' });
  },
  async useParameters(asset) {
    try {
      const { job } = await api(`/v1/jobs/${asset.metadata.inferenceId}`);
      await useParameters({ ...job.metadata.input, seed: asset.metadata.seed ?? job.metadata.input.seed });
    } catch (err) {
      showError(err);
    }
  },
};

const gallery = new Gallery({
  cardActions, useJobParameters: (job) => useParameters(job.metadata?.input ?? {}), onError: showError,
});
const queue = new Queue({ cardActions, onFinished: () => gallery.refreshIfFirstPage() });

let sending = false;

async function generate() {
  if (sending) return;
  clearErrors();
  if (!checkControls(form)) return;
  sending = true;
  $('#submit').disabled = true;  // only while sending: several jobs can run at once
  try {
    const { mode, body } = await buildBody(ctx);
    const response = await api(`/v1/generate/${mode}`, { method: 'POST', body });
    queue.add(response.job, response.warnings ?? []);
    save(ctx);
  } catch (err) {
    showError(err);
  } finally {
    sending = false;
    $('#submit').disabled = false;
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  generate();
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    generate();
  }
});
form.addEventListener('input', (event) => { clearErrorAt(event.target); persist(); });
form.addEventListener('change', persist);

async function start() {
  let models;
  try {
    ({ models } = await api('/v1/models'));
  } catch (err) {
    showError(err);
    return;
  }
  ctx.models.setModels(models);
  if (!models.length) showError(new Error('No models are registered on this server.'));
  const state = saved();
  if (state) await applyParameters(state, ctx).catch(() => {});  // a deleted asset: the rest still applies
  if (!ctx.refs.slots.length) ctx.refs.add();
  await Promise.all([queue.restore(), gallery.show(gallery.view)]);
  document.body.dataset.ready = 'true';
}

setUpAuth({ onSaved: () => { clearErrors(); start(); } });
start();
