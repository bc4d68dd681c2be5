// Errors beside the control they concern, in the page's words rather than the API's field names. The API names
// the field of a 400 (`field`: "width", "concepts[1].scale", "ipAdapterImages", ...); the form marks each control
// with the same name in data-field.

import { $, $$ } from './dom.js';

// API fields that another control stands for.
const ALIASES = {
  imageId: 'image',
  maskId: 'mask',
  ipAdapterImageIds: 'ipAdapterImages',
  ipAdapterImage: 'ipAdapterImages',
  ipAdapterImageId: 'ipAdapterImages',
  ipAdapterScales: 'ipAdapterImages',
  ipAdapterScale: 'ipAdapterImages',
  modelEpoch: 'modelId',
};

// Reasons whose API message lists wire fields a person never sees: said plainly instead.
const PLAIN = {
  missing_ip_adapter_image: 'Add at least one reference image, or turn “reference images” off.',
  missing_image: 'Choose an input image.',
  missing_mask: 'Paint the area to repaint on the image, or load a mask file.',
  invalid_image: 'The server cannot read this file as an image.',
  unsupported_capability: 'This model cannot run this mode; pick another mode or model.',
  unknown_ip_adapter: 'This model has no reference images of that type; pick the other type.',
  model_not_found: 'This model is no longer registered on the server; reload the page.',
};

// Names without a control of their own, in words.
const WORDS = {
  ipAdapterImages: 'reference images',
  ipAdapterImageIds: 'reference images',
  ipAdapterScales: 'reference influences',
  ipAdapterType: 'reference type',
  numInferenceSteps: 'Steps',
  numSamples: 'Images',
  negativePrompt: 'Negative prompt',
  modelId: 'model',
  imageId: 'input image',
  maskId: 'mask',
  concepts: 'LoRAs',
};

function container(field) {
  if (!field) return null;
  const lora = /^concepts\[(\d+)\]/.exec(field);
  const el = lora
    ? $$('#lora-rows .lora')[Number(lora[1])] ?? $('#gen [data-field="concepts"]')
    : $(`#gen [data-field="${ALIASES[field] ?? field.split(/[.[]/)[0]}"]`);
  // A control of another mode is hidden: the general box is then the better place.
  return el && !el.closest('[hidden]') ? el : null;
}

function label(name) {
  const el = $(`#gen [data-field="${name}"]`);
  const text = el && [...el.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  return text ? text.textContent.trim() : WORDS[name] ?? name;
}

// The API's message with its camelCase field names swapped for what the form calls them.
function plainWords(error) {
  if (PLAIN[error.reason]) return PLAIN[error.reason];
  const message = String(error.message ?? error).replace(/\b[a-z]+(?:[A-Z][a-z]*)+\b/g, (name) => label(name));
  return message.charAt(0).toUpperCase() + message.slice(1);
}

function slot(el) {
  return [...el.children].find((c) => c.classList.contains('field-error'))
    ?? $('.field-error', el);
}

export function clearErrors() {
  for (const el of $$('#gen .field-error')) el.textContent = '';
  for (const el of $$('#gen .invalid')) el.classList.remove('invalid');
  $('#error').hidden = true;
  $('#error').textContent = '';
}

function showAt(el, message) {
  el.classList.add('invalid');
  slot(el).textContent = message;
  el.scrollIntoView?.({ block: 'nearest' });
}

// Shows an error (ApiError or any Error) at its field when the form has it, else in the box under the form.
export function showError(error) {
  const message = error?.status === 0 || error?.status === undefined ? String(error.message ?? error)
    : plainWords(error);
  const el = container(error?.field);
  if (el) {
    showAt(el, message);
    return;
  }
  $('#error').hidden = false;
  $('#error').textContent = message;
}

// The browser's own checks (range, step, required) on the controls in use, each shown at its field.
export function checkControls(form) {
  let valid = true;
  for (const control of form.elements) {
    if (!control.name || control.disabled || control.closest('[hidden]') || control.checkValidity()) continue;
    const el = control.closest('[data-field]');
    if (el) showAt(el, control.validationMessage);
    else showError(new Error(control.validationMessage));
    valid = false;
  }
  return valid;
}

// Editing a control takes its error away.
export function clearErrorAt(control) {
  const el = control?.closest?.('[data-field].invalid');
  if (!el) return;
  el.classList.remove('invalid');
  slot(el).textContent = '';
}
