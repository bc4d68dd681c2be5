// Small DOM helpers shared by the page's modules.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// h('button', { class: 'secondary', onclick: fn, type: 'button' }, 'text', child, ...): an element.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// A signed asset or preview URL as a path on this page's own origin: the signature covers the path only, and a
// same-origin URL can be fetched (download) and read back from a canvas (mask) whatever host the server named.
export function sameOrigin(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.pathname.startsWith('/v1/') ? parsed.pathname + parsed.search : url;
  } catch {
    return url;
  }
}

export const readAsDataURL = (blob) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result);
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(blob);
});

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
