// The gallery: past images (GET /v1/assets) and past jobs (GET /v1/jobs), newest first, a page at a time.

import { api } from './api.js';
import { $, $$, h } from './dom.js';
import { imageCard } from './image-card.js';

const GENERATED = ['txt2img', 'img2img', 'inpaint'].flatMap((m) => [`inference-${m}`, `inference-${m}-ip-adapter`]);
const PAGE = { images: 24, jobs: 8 };

export class Gallery {
  constructor({ cardActions, useJobParameters, onError }) {
    this.cardActions = cardActions;
    this.useJobParameters = useJobParameters;
    this.onError = onError;
    this.items = $('#gallery-items');
    this.more = $('#gallery-more');
    this.filter = $('#gallery [name=assetFilter]');
    this.view = 'images';
    this.token = null;
    this.loading = null;
    for (const tab of $$('#gallery [role=tab]')) tab.addEventListener('click', () => this.show(tab.dataset.view));
    this.more.addEventListener('click', () => this.load());
    this.filter.addEventListener('change', () => this.reload());
    $('#gallery-refresh').addEventListener('click', () => this.reload());
  }

  show(view) {
    this.view = view;
    for (const tab of $$('#gallery [role=tab]')) tab.setAttribute('aria-selected', String(tab.dataset.view === view));
    $('#gallery [data-for-view=images]').hidden = view !== 'images';
    this.items.className = view === 'images' ? 'grid' : 'jobs';
    return this.reload();
  }

  reload() {
    this.token = null;
    this.items.replaceChildren();
    return this.load();
  }

  // The next page, appended; one load at a time.
  load() {
    this.loading ??= this.fetchPage().finally(() => { this.loading = null; });
    return this.loading;
  }

  async fetchPage() {
    const view = this.view;
    try {
      const items = view === 'images' ? await this.images() : await this.jobs();
      if (view !== this.view) return;
      this.items.append(...items);
      $('#gallery .empty').hidden = this.items.children.length > 0;
      this.more.hidden = !this.token;
    } catch (err) {
      this.onError(err);
    }
  }

  async images() {
    const filter = this.filter.value;
    const types = filter === 'generated' ? GENERATED.join(',') : filter || undefined;
    const page = await api('/v1/assets', { query: { pageSize: PAGE.images, paginationToken: this.token, types } });
    this.token = page.nextPaginationToken ?? null;
    return page.assets.map((asset) => imageCard(asset, this.cardActions));
  }

  async jobs() {
    const page = await api('/v1/jobs', { query: { pageSize: PAGE.jobs, paginationToken: this.token } });
    this.token = page.nextPaginationToken ?? null;
    return Promise.all(page.jobs.map((job) => this.jobCard(job)));
  }

  async jobCard(job) {
    const input = job.metadata?.input ?? {};
    const images = job.metadata?.assetIds?.length
      ? (await api('/v1/assets', { query: { inferenceId: job.jobId, pageSize: 100 } })).assets : [];
    const rows = ['modelId', 'seed', 'numSamples', 'numInferenceSteps', 'guidance', 'width', 'height', 'scheduler',
      'strength'].filter((k) => input[k] !== undefined).map((k) => `${k} ${input[k]}`);
    return h('article', { class: 'job-card', dataset: { jobId: job.jobId, status: job.status } },
      h('div', { class: 'job-head' },
        h('span', { class: 'job-title' }, String(input.type ?? job.jobType).replaceAll('_', '-')),
        h('span', { class: `status ${job.status}` }, job.status),
        h('time', { datetime: job.createdAt, class: 'hint' }, new Date(job.createdAt).toLocaleString()),
        h('button', { type: 'button', class: 'link', onclick: () => this.useJobParameters(job) }, 'Use parameters')),
      h('p', { class: 'job-prompt' }, input.prompt ?? ''),
      h('p', { class: 'hint' }, rows.join(' · ')),
      job.metadata?.output?.error ? h('p', { class: 'job-note' }, job.metadata.output.error) : null,
      h('div', { class: 'grid' }, images.map((asset) => imageCard(asset, this.cardActions))));
  }

  // A job ended: the first page again if it is the one on screen.
  refreshIfFirstPage() {
    if (this.items.children.length <= PAGE[this.view]) this.reload();
  }
}
