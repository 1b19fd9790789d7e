/** Sign-in: an API token and a name, exchanged for a session cookie (`POST /api/v1/session`). */
import { ApiError, api } from './api.js';
import { h, replace } from './dom.js';

export function renderSignIn(main: HTMLElement, signedIn: (actor: string) => void): void {
  const token = h('input', {
    id: 'token',
    attrs: { type: 'password', name: 'token', autocomplete: 'off', required: '', spellcheck: 'false' },
  });
  const name = h('input', {
    id: 'actor',
    attrs: { type: 'text', name: 'actor', autocomplete: 'name', required: '', maxlength: '128' },
  });
  const submit = h('button', { attrs: { type: 'submit' } }, 'Sign in');
  const problem = h('p', { class: 'error', id: 'sign-in-error', attrs: { role: 'alert' } });
  problem.hidden = true;
  const form = h(
    'form',
    { class: 'sign-in' },
    h('h1', {}, 'Sign in to Vigil'),
    h(
      'p',
      { class: 'muted' },
      'Paste an API token (VIGIL_API_TOKEN, or "apiTokens" in .vigil/credentials.json). Your name is recorded on the alerts you acknowledge or resolve.',
    ),
    h('label', { attrs: { for: 'token' } }, 'API token'),
    token,
    h('label', { attrs: { for: 'actor' } }, 'Your name'),
    name,
    submit,
    problem,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    problem.hidden = true;
    api
      .post<{ actor: string }>('/api/v1/session', { token: token.value, actor: name.value })
      .then((answer) => signedIn(answer.actor))
      .catch((error: unknown) => {
        problem.textContent =
          error instanceof ApiError && error.status === 401
            ? 'Unknown token: paste an API token of this server.'
            : error instanceof Error
              ? error.message
              : String(error);
        problem.hidden = false;
        submit.disabled = false;
      });
  });
  replace(main, form);
  token.focus();
}
