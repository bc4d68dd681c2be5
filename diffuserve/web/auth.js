// The API key form: shown when the server asks for a key; the key and secret stay in this browser.

import { forgetCredentials, loadCredentials, onUnauthorized, saveCredentials } from './api.js';
import { $ } from './dom.js';

export function setUpAuth({ onSaved }) {
  const show = (message) => {
    const creds = loadCredentials();
    $('#auth').hidden = false;
    $('#auth-key').value = creds?.key ?? '';
    $('#auth-state').textContent = message ?? (creds ? 'Saved in this browser.' : 'None saved: open mode.');
  };
  onUnauthorized(show);
  $('#auth-toggle').addEventListener('click', () => {
    if ($('#auth').hidden) show(); else $('#auth').hidden = true;
  });
  $('#auth').addEventListener('submit', (event) => {
    event.preventDefault();
    saveCredentials({ key: $('#auth-key').value.trim(), secret: $('#auth-secret').value.trim() });
    $('#auth-secret').value = '';
    $('#auth').hidden = true;
    onSaved();
  });
  $('#auth-forget').addEventListener('click', () => {
    forgetCredentials();
    $('#auth-key').value = '';
    $('#auth-secret').value = '';
    $('#auth-state').textContent = 'Forgotten.';
  });
}
