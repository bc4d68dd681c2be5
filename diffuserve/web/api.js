// The page's one way to the server: the public REST API under /v1, with the key the user typed (Basic auth).

const STORAGE = 'diffuserve.credentials';

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body ?? {};
    this.field = body?.field ?? null;
    this.reason = body?.reason ?? null;
  }
}

export function loadCredentials() {
  try { return JSON.parse(localStorage.getItem(STORAGE)) ?? null; } catch { return null; }
}

export function saveCredentials(credentials) {
  localStorage.setItem(STORAGE, JSON.stringify(credentials));
}

export function forgetCredentials() {
  localStorage.removeItem(STORAGE);
}

function basic({ key, secret }) {
  const bytes = new TextEncoder().encode(`${key}:${secret}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

let unauthorized = () => {};

// Called with a message when the server refuses the request for want of (valid) credentials.
export function onUnauthorized(handler) {
  unauthorized = handler;
}

// api('/v1/jobs', { query: { pageSize: 10 } }) -> the JSON body; throws ApiError (status 0: no answer).
export async function api(path, { method = 'GET', body, query } = {}) {
  const creds = loadCredentials();
  const headers = { Accept: 'application/json' };
  if (creds) headers.Authorization = basic(creds);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      for (const v of [value].flat()) if (v !== undefined && v !== null && v !== '') params.append(name, v);
    }
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    // credentials: 'omit' sends only our own header and keeps the browser's Basic login box away.
    response = await fetch(url, {
      method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, { reason: 'unreachable', message: 'The server cannot be reached; is it running?' });
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401) {
      unauthorized(creds ? 'These credentials were refused.' : 'This server needs an API key.');
    }
    throw new ApiError(response.status, data);
  }
  return data;
}

// Uploads a file as an asset (POST /v1/assets) -> the Asset.
export async function uploadAsset(name, dataUrl) {
  return (await api('/v1/assets', { method: 'POST', body: { name, image: dataUrl } })).asset;
}

export async function getAsset(id) {
  return (await api(`/v1/assets/${encodeURIComponent(id)}`)).asset;
}
