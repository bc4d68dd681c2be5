// The diffuserve web page: a thin client of the public REST API under /v1. No framework, no build step.

// The 15 schedulers of the Scenario API (diffuserve/engine/schedulers.py). Used when /openapi.json does not
// list them as an enum on the generate bodies.
const SCHEDULERS = [
  'DDIMScheduler', 'DDPMScheduler', 'DEISMultistepScheduler', 'DPMSolverMultistepScheduler',
  'DPMSolverSinglestepScheduler', 'EulerAncestralDiscreteScheduler', 'EulerDiscreteScheduler',
  'HeunDiscreteScheduler', 'KDPM2AncestralDiscreteScheduler', 'KDPM2DiscreteScheduler', 'LCMScheduler',
  'LMSDiscreteScheduler', 'PNDMScheduler', 'TCDScheduler', 'UniPCMultistepScheduler',
];
const TERMINAL = new Set(['success', 'failure', 'canceled']);
const STORAGE = 'diffuserve.credentials';
const POLL_MS = 1000;

const $ = (id) => document.getElementById(id);
const form = $('gen');
let models = [];
const DEFAULT_MODEL = 'demo-shapes';  // the built-in model that draws what it is told (see the README)
let currentJob = null;
let timer = null;

// -- the API --

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function loadCredentials() {
  try { return JSON.parse(localStorage.getItem(STORAGE)) ?? null; } catch { return null; }
}

function basic({ key, secret }) {
  const bytes = new TextEncoder().encode(`${key}:${secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

async function api(path, { method = 'GET', body } = {}) {
  const creds = loadCredentials();
  const headers = { Accept: 'application/json' };
  if (creds) headers.Authorization = basic(creds);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // credentials: 'omit' sends only our own header, and keeps the browser's Basic login box from popping up.
  const response = await fetch(path, {
    method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) {
      showAuth(creds ? 'These credentials were refused.' : 'This server needs an API key.');
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

function showError(err) {
  const box = $('error');
  box.hidden = !err;
  if (!err) return;
  const b = err.body;
  box.textContent = b?.message
    ? `${b.reason ?? 'error'}: ${b.message}${b.field ? ` (field: ${b.field})` : ''}`
    : `Request failed: ${err.message ?? err}`;
}

// -- credentials --

function showAuth(message) {
  const creds = loadCredentials();
  $('auth').hidden = false;
  $('auth-key').value = creds?.key ?? '';
  $('auth-state').textContent = message ?? (creds ? 'Saved in this browser.' : 'None saved: open mode.');
}

$('auth-toggle').addEventListener('click', () => {
  if ($('auth').hidden) showAuth(); else $('auth').hidden = true;
});

$('auth').addEventListener('submit', (event) => {
  event.preventDefault();
  const creds = { key: $('auth-key').value.trim(), secret: $('auth-secret').value.trim() };
  localStorage.setItem(STORAGE, JSON.stringify(creds));
  $('auth-secret').value = '';
  $('auth').hidden = true;
  showError(null);
  loadModels();
});

$('auth-forget').addEventListener('click', () => {
  localStorage.removeItem(STORAGE);
  $('auth-key').value = $('auth-secret').value = '';
  $('auth-state').textContent = 'Forgotten.';
});

// -- the form --

async function loadModels() {
  try {
    models = (await api('/v1/models')).models;
  } catch (err) {
    showError(err);
    return;
  }
  const previous = $('model').value;
  $('model').replaceChildren(...models.map((m) => new Option(`${m.name} (${m.type})`, m.id)));
  if (models.some((m) => m.id === previous)) $('model').value = previous;
  else if (models.some((m) => m.id === DEFAULT_MODEL)) $('model').value = DEFAULT_MODEL;
  if (!models.length) showError({ message: 'No models are registered on this server.' });
  onModel();
}

async function loadSchedulers() {
  let names = SCHEDULERS;
  try {
    const doc = await (await fetch('/openapi.json', { credentials: 'omit' })).json();
    const body = doc.paths['/v1/generate/txt2img'].post.requestBody.content['application/json'].schema;
    const prop = body.properties.scheduler;
    const listed = prop.enum ?? prop.anyOf?.find((s) => s.enum)?.enum;
    if (listed?.length) names = listed;
  } catch { /* not exposed there: keep the built-in list */ }
  $('scheduler').append(...names.map((n) => new Option(n, n)));
}

function onModel() {
  const model = models.find((m) => m.id === $('model').value);
  const modes = (model?.capabilities ?? []).map((c) => c.replaceAll('_', '-'));
  const previous = $('mode').value;
  $('mode').replaceChildren(...modes.map((m) => new Option(m, m)));
  if (modes.includes(previous)) $('mode').value = previous;
  $('model-info').textContent = model
    ? `${model.type} · ${model.capabilities.join(', ')}${model.shortDescription ? ` · ${model.shortDescription}` : ''}`
    : '';
  onMode();
}

// Shows the inputs the mode uses; hidden ones are disabled, so they are neither validated nor sent.
function onMode() {
  const mode = $('mode').value;
  const needs = { image: /^(img2img|inpaint)/.test(mode), mask: mode.startsWith('inpaint'), ip: mode.endsWith('ip-adapter') };
  for (const el of form.querySelectorAll('[data-needs]')) {  // document order: the mask after its fieldset
    const on = needs[el.dataset.needs];
    el.hidden = !on;
    for (const input of el.querySelectorAll('input, select, button')) input.disabled = !on;
  }
}

function addReference() {
  const row = $('ref-row').content.firstElementChild.cloneNode(true);
  row.querySelector('.remove').addEventListener('click', () => row.remove());
  $('refs').append(row);
}

const readFile = (file) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(file);
});

async function buildBody(mode) {
  const data = new FormData(form);  // leaves out disabled (hidden) inputs
  const text = (name) => String(data.get(name) ?? '').trim();
  const body = { modelId: $('model').value, prompt: text('prompt') };
  if (text('negativePrompt')) body.negativePrompt = text('negativePrompt');
  for (const name of ['numSamples', 'numInferenceSteps', 'width', 'height']) {
    if (text(name)) body[name] = parseInt(text(name), 10);
  }
  if (text('guidance')) body.guidance = Number(text('guidance'));
  if (text('seed')) body.seed = text('seed');  // the spec types seed as a string
  if (text('scheduler')) body.scheduler = text('scheduler');
  if (data.has('intermediateImages')) body.intermediateImages = true;
  if (data.has('strength')) body.strength = Number(text('strength'));
  for (const name of ['image', 'mask']) {
    if (data.get(name)?.size) body[name] = await readFile(data.get(name));
  }
  if (mode.endsWith('ip-adapter')) {
    const rows = [...$('refs').querySelectorAll('.ref')];
    body.ipAdapterType = text('ipAdapterType');
    body.ipAdapterImages = await Promise.all(rows.map((r) => readFile(r.querySelector('input[type=file]').files[0])));
    body.ipAdapterScales = rows.map((r) => Number(r.querySelector('input[type=number]').value));
  }
  return body;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError(null);
  const mode = $('mode').value;
  $('submit').disabled = true;
  try {
    const { job } = await api(`/v1/generate/${mode}`, { method: 'POST', body: await buildBody(mode) });
    startJob(job);
  } catch (err) {
    showError(err);
    $('submit').disabled = false;
  }
});

// -- the job --

function startJob(job) {
  clearTimeout(timer);
  currentJob = job.jobId;
  $('job-empty').hidden = true;
  $('job-state').hidden = false;
  $('job-id').textContent = job.jobId;
  $('previews').replaceChildren();
  $('outputs').replaceChildren();
  $('cancel').hidden = false;
  render(job);
}

async function poll(jobId) {
  if (jobId !== currentJob) return;
  try {
    render((await api(`/v1/jobs/${jobId}`)).job);
  } catch (err) {
    showError(err);
    if (err.status !== 404) timer = setTimeout(() => poll(jobId), POLL_MS);  // a blip: try again
  }
}

function render(job) {
  if (job.jobId !== currentJob) return;
  clearTimeout(timer);
  const error = job.metadata?.output?.error;
  $('job-status').textContent = error ? `${job.status}: ${error}` : job.status;
  $('job-status').className = `status ${job.status}`;
  $('job-progress').value = job.progress ?? 0;
  const previews = job.metadata?.output?.intermediateImages ?? [];
  // Reuse the <img>s so the last preview stays on screen while the next one loads.
  const imgs = [...$('previews').children];
  previews.forEach((url, i) => {
    const img = imgs[i] ?? $('previews').appendChild(Object.assign(new Image(), { alt: `preview ${i}` }));
    img.src = url;
  });
  if (!TERMINAL.has(job.status)) {
    timer = setTimeout(() => poll(job.jobId), POLL_MS);
    return;
  }
  $('cancel').hidden = true;
  $('submit').disabled = false;
  $('previews').replaceChildren();
  if (job.status === 'success') showOutputs(job.metadata.assetIds).catch(showError);
}

async function showOutputs(assetIds) {
  const assets = await Promise.all(assetIds.map(async (id) => (await api(`/v1/assets/${id}`)).asset));
  $('outputs').replaceChildren(...assets.map((asset) => {
    const link = Object.assign(document.createElement('a'), { href: asset.url, target: '_blank', rel: 'noopener' });
    link.title = 'open full size';
    link.append(Object.assign(new Image(), { src: asset.url, alt: `output ${asset.outputIndex ?? ''}` }));
    const seed = Object.assign(document.createElement('button'), {
      type: 'button', className: 'link', textContent: `seed ${asset.metadata?.seed}`, title: 'use this seed',
    });
    seed.addEventListener('click', () => { form.elements.seed.value = asset.metadata?.seed ?? ''; });
    const caption = document.createElement('figcaption');
    caption.append(seed);
    const figure = document.createElement('figure');
    figure.append(link, caption);
    return figure;
  }));
}

$('cancel').addEventListener('click', async () => {
  try {
    render((await api(`/v1/jobs/${currentJob}/action`, { method: 'POST', body: { action: 'cancel' } })).job);
  } catch (err) {
    showError(err);
  }
});

// -- start --

$('model').addEventListener('change', onModel);
$('mode').addEventListener('change', onMode);
$('add-ref').addEventListener('click', addReference);
addReference();
loadSchedulers();
loadModels();
