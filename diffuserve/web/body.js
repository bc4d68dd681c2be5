// The form as a generate request, and back: "use these parameters" fills the form from a job's input, and the
// same path restores the form saved in this browser after a reload.

import { getAsset } from './api.js';
import { sameOrigin } from './dom.js';

const TEXTS = ['prompt', 'negativePrompt'];
const NUMBERS = ['numSamples', 'numInferenceSteps', 'guidance', 'width', 'height', 'strength'];
const SAVED = 'diffuserve.form';

export class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

const isAssetId = (value) => typeof value === 'string' && /^asset_/.test(value);

// -> { mode, body } for POST /v1/generate/{mode}; a FieldError for what the form can tell before sending.
export async function buildBody({ form, models, image, painter, refs, loras }) {
  const el = form.elements;
  const mode = models.mode();
  const body = { modelId: el.modelId.value, prompt: el.prompt.value.trim() };
  if (el.negativePrompt.value.trim()) body.negativePrompt = el.negativePrompt.value.trim();
  for (const name of ['numSamples', 'numInferenceSteps', 'guidance', 'width', 'height']) {
    if (el[name].value.trim() !== '') body[name] = Number(el[name].value);
  }
  if (el.seed.value.trim()) body.seed = el.seed.value.trim();  // the spec types seed as a string
  if (el.scheduler.value) body.scheduler = el.scheduler.value;
  if (!el.baseModelId.closest('[hidden]') && el.baseModelId.value) body.baseModelId = el.baseModelId.value;
  if (el.intermediateImages.checked) body.intermediateImages = true;
  const concepts = loras.value();
  if (concepts.length) body.concepts = concepts;
  if (mode !== 'txt2img' && mode !== 'txt2img-ip-adapter') {
    body.image = await image.value();
    if (!body.image) throw new FieldError('image', 'Choose an input image, or “Use as input” on one in the gallery.');
    if (el.strength.value.trim() !== '') body.strength = Number(el.strength.value);
  }
  if (mode.startsWith('inpaint')) {
    if (!painter.ready || painter.isEmpty()) {
      throw new FieldError('mask', 'Paint the area to repaint on the image, or load a mask file.');
    }
    body.mask = painter.toDataURL();
    if (el.disableMerging.checked) body.disableMerging = true;
  }
  if (mode.endsWith('ip-adapter')) {
    Object.assign(body, await refs.value());
    body.ipAdapterType = el.ipAdapterType.value;
  }
  return { mode, body };
}

// Fills the form from a job's input (GET /v1/jobs/{id} metadata.input) or a saved snapshot.
export async function applyParameters(p, { form, models, image, painter, refs, loras }) {
  const el = form.elements;
  if (p.modelId) models.selectModel(p.modelId);
  if (p.baseModelId) el.baseModelId.value = p.baseModelId;
  models.setMode(p.mode ?? p.type ?? 'txt2img');
  for (const name of TEXTS) el[name].value = p[name] ?? '';
  for (const name of NUMBERS) el[name].value = p[name] ?? '';
  if (!el.numSamples.value) el.numSamples.value = 1;
  if (!el.strength.value) el.strength.value = el.strength.placeholder || 0.75;
  el.seed.value = p.seed ?? '';
  el.scheduler.value = [...el.scheduler.options].some((o) => o.value === p.scheduler) ? p.scheduler : '';
  if (p.ipAdapterType) el.ipAdapterType.value = p.ipAdapterType;
  el.intermediateImages.checked = Boolean(p.intermediateImages);
  el.disableMerging.checked = Boolean(p.disableMerging);
  loras.set(p.concepts ?? []);
  const tasks = [];
  const imageId = p.imageId ?? (isAssetId(p.image) ? p.image : null);
  if (imageId) tasks.push(image.setAsset(imageId));
  else image.clear();
  const maskId = p.maskId ?? (isAssetId(p.mask) ? p.mask : null);
  if (maskId && imageId) {
    tasks.push(tasks[0].then(async () => painter.load(sameOrigin((await getAsset(maskId)).url))));
  }
  const refIds = (p.ipAdapterImageIds ?? p.ipAdapterImages ?? []).filter(isAssetId);
  tasks.push(refs.set(refIds, p.ipAdapterScales));
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

// The form as it stands, for saving in this browser (asset ids only: chosen files are uploaded at once).
export function snapshot({ form, models, image, refs, loras }) {
  const el = form.elements;
  const values = Object.fromEntries([...TEXTS, ...NUMBERS].map((n) => [n, el[n].value]));
  for (const name of NUMBERS) if (values[name] === '') delete values[name];
  const { ids, scales } = refs.snapshot();
  return {
    ...values,
    modelId: el.modelId.value,
    baseModelId: el.baseModelId.value || undefined,
    mode: models.mode(),
    seed: el.seed.value,
    scheduler: el.scheduler.value,
    ipAdapterType: el.ipAdapterType.value,
    intermediateImages: el.intermediateImages.checked,
    disableMerging: el.disableMerging.checked,
    concepts: loras.value(),
    imageId: image.assetId ?? undefined,
    ipAdapterImageIds: ids,
    ipAdapterScales: scales,
  };
}

export function save(ctx) {
  try { localStorage.setItem(SAVED, JSON.stringify(snapshot(ctx))); } catch { /* storage full or off */ }
}

export function saved() {
  try { return JSON.parse(localStorage.getItem(SAVED)); } catch { return null; }
}
