// One image (an Asset) with its parameters and what can be done with it: use it as the input image, fill the
// form with the parameters that made it, download it under a name that says what it is.

import { h, sameOrigin } from './dom.js';

const EXTENSIONS = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };
const SHOWN = ['prompt', 'negativePrompt', 'modelId', 'seed', 'guidance', 'scheduler', 'strength', 'type'];

const slug = (text) => String(text ?? '').toLowerCase().normalize('NFKD').replace(/[^\p{L}\p{N}]+/gu, '-')
  .replace(/^-+|-+$/g, '').slice(0, 48).replace(/-+$/, '');

// "a-lighthouse-at-dusk_MODEL_42.png" for a generated image; an uploaded one keeps its own name.
export function fileName(asset) {
  const m = asset.metadata ?? {};
  const ext = EXTENSIONS[asset.mimeType] ?? 'png';
  if (!m.inferenceId) {
    const name = String(m.name ?? asset.id);
    return /\.[a-z0-9]{2,4}$/i.test(name) ? name : `${name}.${ext}`;
  }
  return `${[slug(m.prompt) || 'image', m.modelId, m.seed].filter(Boolean).join('_')}.${ext}`;
}

function format(value) {
  if (Array.isArray(value)) {
    return value.map((v) => (v && typeof v === 'object' ? `${v.modelId} × ${v.scale}` : String(v))).join(', ');
  }
  return String(value);
}

function parameters(asset) {
  const m = asset.metadata ?? {};
  const rows = SHOWN.filter((k) => m[k] !== undefined && m[k] !== '').map((k) => [k, m[k]]);
  const { width, height } = asset.properties ?? {};
  if (width) rows.push(['size', `${width}×${height}`]);
  if (m.concepts?.length) rows.push(['LoRAs', m.concepts]);
  if (m.referenceImages?.length) rows.push(['references', m.referenceImages.length]);
  if (asset.createdAt) rows.push(['created', new Date(asset.createdAt).toLocaleString()]);
  return h('dl', {}, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, format(v))]));
}

export function imageCard(asset, { useAsInput, useParameters }) {
  const m = asset.metadata ?? {};
  const url = sameOrigin(asset.url);
  const title = m.prompt ?? m.name ?? asset.id;
  const { width, height } = asset.properties ?? {};
  const summary = [m.seed && `seed ${m.seed}`, width && `${width}×${height}`].filter(Boolean).join(' · ');
  return h('figure', { class: 'image-card', dataset: { assetId: asset.id } },
    h('a', { href: url, target: '_blank', rel: 'noopener', title: 'open full size' },
      h('img', { src: url, alt: title, loading: 'lazy' })),
    h('figcaption', {},
      h('span', { class: 'caption', title }, summary || title),
      h('span', { class: 'actions' },
        h('button', { type: 'button', class: 'link', onclick: () => useAsInput(asset) }, 'Use as input'),
        m.inferenceId
          ? h('button', { type: 'button', class: 'link', onclick: () => useParameters(asset) }, 'Use parameters')
          : null,
        h('a', { href: url, download: fileName(asset), class: 'download' }, 'Download')),
      h('details', {}, h('summary', {}, 'Parameters'), parameters(asset))));
}
