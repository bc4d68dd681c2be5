// An image chosen for the form, shown as a thumbnail: a file (uploaded as an asset at once, so a reload or a
// second job reuses it by id) or an asset picked in the gallery.

import { getAsset, uploadAsset } from './api.js';
import { $, readAsDataURL, sameOrigin } from './dom.js';
import { showError } from './field-errors.js';

export class ImageSlot {
  constructor(root, { field, onChange = () => {} }) {
    this.root = root;
    this.field = field;
    this.onChange = onChange;
    this.thumb = $('.thumb', root);
    this.label = $('.slot-name', root);
    this.input = $('input[type=file]', root);
    this.hint = this.label.textContent;
    this.assetId = null;
    this.url = null;
    this.pending = null;
    this.input.addEventListener('change', () => {
      if (this.input.files[0]) this.setFile(this.input.files[0]);
    });
  }

  async setFile(file) {
    const local = URL.createObjectURL(file);
    this.assetId = null;
    this.show(local, `${file.name} · uploading…`);
    this.onChange(this);
    const upload = (async () => uploadAsset(file.name, await readAsDataURL(file)))();
    this.pending = upload;
    try {
      const asset = await upload;
      if (this.pending !== upload) return;
      this.assetId = asset.id;
      this.url = local;
      this.label.textContent = file.name;
      this.root.dataset.assetId = asset.id;
      this.onChange(this);
    } catch (err) {
      if (this.pending !== upload) return;
      this.clear();
      err.field ??= this.field;
      showError(err);
    } finally {
      if (this.pending === upload) this.pending = null;
    }
  }

  // An asset (the object, or its id) as this image.
  async setAsset(assetOrId) {
    const asset = typeof assetOrId === 'string' ? await getAsset(assetOrId) : assetOrId;
    this.pending = null;
    this.input.value = '';
    this.assetId = asset.id;
    this.root.dataset.assetId = asset.id;
    this.show(sameOrigin(asset.url), asset.metadata?.name ?? asset.id);
    this.onChange(this);
  }

  show(url, name) {
    this.url = url;
    this.thumb.src = url;
    this.thumb.hidden = false;
    this.label.textContent = name;
  }

  clear() {
    this.pending = null;
    this.assetId = null;
    this.url = null;
    this.input.value = '';
    delete this.root.dataset.assetId;
    this.thumb.hidden = true;
    this.thumb.removeAttribute('src');
    this.label.textContent = this.hint;
    this.onChange(this);
  }

  // The asset id to send (after a running upload), or null when none is chosen.
  async value() {
    while (this.pending) await this.pending.catch(() => null);
    return this.assetId;
  }
}
