// The queue panel: the jobs started here (and any the server is running), several at once, each with its status,
// progress, previews and cancel, then its images. The list survives a reload (job ids in localStorage).

import { api } from './api.js';
import { $, $$, h, sameOrigin } from './dom.js';
import { imageCard } from './image-card.js';

const STORE = 'diffuserve.queue';
const POLL_MS = 1000;
const KEEP = 12;
const TERMINAL = new Set(['success', 'failure', 'canceled']);
const ACTIVE = 'queued,warming-up,in-progress,finalizing';

export class Queue {
  constructor({ cardActions, onFinished }) {
    this.list = $('#queue-list');
    this.cardActions = cardActions;
    this.onFinished = onFinished;
    this.entries = new Map();
    this.timer = null;
  }

  // A job just submitted (the generate response), with the server's warnings if it gave any.
  add(job, warnings = []) {
    const entry = this.entry(job.jobId, { prepend: true });
    this.render(entry, job);
    if (warnings.length) $('.job-note', entry.el).textContent = warnings.map((w) => w.message ?? w).join(' ');
    this.save();
    this.schedule();
  }

  // The jobs this browser knew, then those the server is running that it did not.
  async restore() {
    let ids = [];
    try { ids = JSON.parse(localStorage.getItem(STORE)) ?? []; } catch { /* none */ }
    for (const id of ids) this.entry(id, { prepend: false });
    try {
      const { jobs } = await api('/v1/jobs', { query: { status: ACTIVE, pageSize: 50 } });
      for (const job of jobs.reverse()) if (!this.entries.has(job.jobId)) this.render(this.entry(job.jobId, { prepend: true }), job);
    } catch { /* the key may be missing yet */ }
    await Promise.all([...this.entries.values()].filter((e) => !e.job).map((e) => this.refresh(e)));
    this.save();
    this.schedule();
  }

  entry(id, { prepend }) {
    if (this.entries.has(id)) return this.entries.get(id);
    const el = h('li', { class: 'job', dataset: { jobId: id } },
      h('div', { class: 'job-head' },
        h('span', { class: 'job-title' }, id),
        h('span', { class: 'status' }, '…'),
        h('button', { type: 'button', class: 'secondary small cancel', hidden: true, onclick: () => this.cancel(id) },
          'Cancel'),
        h('button', { type: 'button', class: 'link small dismiss', title: 'Remove from the list', hidden: true,
          onclick: () => this.dismiss(id) }, 'Remove')),
      h('p', { class: 'job-prompt hint' }),
      h('progress', { max: 1, value: 0 }),
      h('p', { class: 'job-note hint' }),
      h('div', { class: 'previews grid' }),
      h('div', { class: 'outputs grid' }));
    if (prepend) this.list.prepend(el); else this.list.append(el);
    const entry = { id, el, job: null, shown: false };
    this.entries.set(id, entry);
    this.updateEmpty();
    return entry;
  }

  render(entry, job) {
    entry.job = job;
    const input = job.metadata?.input ?? {};
    const error = job.metadata?.output?.error;
    const el = entry.el;
    el.dataset.status = job.status;
    $('.job-title', el).textContent = [String(input.type ?? '').replaceAll('_', '-'), input.modelId]
      .filter(Boolean).join(' · ') || job.jobId;
    $('.job-prompt', el).textContent = input.prompt ?? '';
    $('.status', el).textContent = job.status;
    $('.status', el).className = `status ${job.status}`;
    $('progress', el).value = job.progress ?? 0;
    const done = TERMINAL.has(job.status);
    $('.cancel', el).hidden = done;
    $('.dismiss', el).hidden = !done;
    if (error) $('.job-note', el).textContent = error;
    const previews = done ? [] : job.metadata?.output?.intermediateImages ?? [];
    const imgs = $$('img', $('.previews', el));
    // Reuse the <img>s so the last preview stays on screen while the next one loads.
    previews.forEach((url, i) => {
      const img = imgs[i] ?? $('.previews', el).appendChild(h('img', { alt: `preview ${i + 1}` }));
      img.src = sameOrigin(url);
    });
    if (done) $('.previews', el).replaceChildren();
    this.updateEmpty();
    if (job.status === 'success' && !entry.shown) {
      entry.shown = true;
      this.showOutputs(entry, job.metadata.assetIds ?? []);
    }
  }

  async showOutputs(entry, assetIds) {
    const results = await Promise.allSettled(assetIds.map((id) => api(`/v1/assets/${id}`)));
    const cards = results.filter((r) => r.status === 'fulfilled')
      .map((r) => imageCard(r.value.asset, this.cardActions));
    $('.outputs', entry.el).replaceChildren(...cards);
    if (results.some((r) => r.status === 'rejected')) $('.job-note', entry.el).textContent = 'Some images are gone.';
  }

  async refresh(entry) {
    try {
      const wasActive = entry.job && !TERMINAL.has(entry.job.status);
      this.render(entry, (await api(`/v1/jobs/${entry.id}`)).job);
      if (wasActive && TERMINAL.has(entry.job.status)) this.onFinished(entry.job);
    } catch (err) {
      if (err.status === 404) this.dismiss(entry.id);
      else $('.job-note', entry.el).textContent = err.message;
    }
  }

  active() { return [...this.entries.values()].filter((e) => !e.job || !TERMINAL.has(e.job.status)); }

  schedule() {
    if (this.timer || !this.active().length) return;
    this.timer = setTimeout(async () => {
      await Promise.all(this.active().map((e) => this.refresh(e)));
      this.timer = null;
      this.schedule();
    }, POLL_MS);
  }

  async cancel(id) {
    const entry = this.entries.get(id);
    $('.cancel', entry.el).disabled = true;
    try {
      this.render(entry, (await api(`/v1/jobs/${id}/action`, { method: 'POST', body: { action: 'cancel' } })).job);
      this.onFinished(entry.job);
    } catch (err) {
      $('.job-note', entry.el).textContent = err.message;
    } finally {
      $('.cancel', entry.el).disabled = false;
    }
  }

  dismiss(id) {
    this.entries.get(id)?.el.remove();
    this.entries.delete(id);
    this.updateEmpty();
    this.save();
  }

  // The empty-list hint, and beside the Generate button how many jobs are still going (on a phone the queue is
  // below the form).
  updateEmpty() {
    $('#queue .empty').hidden = this.entries.size > 0;
    const going = this.active().length;
    $('#queue-state').hidden = going === 0;
    $('#queue-state').textContent = `${going} job${going === 1 ? '' : 's'} in the queue ↓`;
  }

  save() {
    const ids = $$('li.job', this.list).map((li) => li.dataset.jobId).slice(0, KEEP);
    localStorage.setItem(STORE, JSON.stringify(ids));
  }
}
