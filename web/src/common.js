// Helpers of both page scripts (app.js: the public form and pages; instructeur.js: the
// académie's pages). Not served alone: web/build.mjs puts this file in front of each page
// script, in the one module the page loads, so every name here is in scope in both.

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const STATUTS = {
  brouillon: 'Brouillon',
  en_construction: 'En construction',
  en_instruction: 'En instruction',
  accepte: 'Accepté',
  refuse: 'Refusé',
  sans_suite: 'Classé sans suite',
  resilie: 'Résilié',
};

// ---------------------------------------------------------------- DOM

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

/** Shows the view `id` and hides the page's other views (`views`: the ids of all of them). */
function showView(views, id) {
  for (const v of views) $(`#${v}`).hidden = v !== id;
}

/** The page's own title in front of the site's (the last two parts of the template's title). */
function setTitle(t) {
  document.title = `${t} — ${document.title.split(' — ').slice(-2).join(' — ')}`;
}

/** Said by screen readers (the page's polite live region #annonces). */
function announce(text) {
  const a = $('#annonces');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

/** A small DSFR alert; `text` is a string (a paragraph) or a node put as it is. `margin`: its
 * DSFR spacing class (the académie's pages space their alerts below, the form above). */
function alertBox(kind, title, text, heading = 'h3', margin = 'fr-mb-2w') {
  return el('div', { class: `fr-alert fr-alert--${kind} fr-alert--sm ${margin}` },
    el(heading, { class: 'fr-alert__title' }, title), typeof text === 'string' ? el('p', {}, text) : text);
}

/** A DSFR field's state: 'error', 'valid', 'info' or null (none), on its group, its input
 * (`fr-input` / `fr-select` and aria-invalid) and its messages (`text`, or nothing). */
function setMessage(group, messages, state, text, input) {
  if (!group) return;
  for (const s of ['error', 'valid']) {
    const base = [...group.classList].find((c) => /^fr-[a-z]+-group$/.test(c)) || 'fr-fieldset';
    group.classList.toggle(`${base}--${s}`, state === s);
    if (input && input.classList.length) {
      const cls = [...input.classList].find((c) => /^fr-(input|select)$/.test(c));
      if (cls) input.classList.toggle(`${cls}--${s}`, state === s);
    }
  }
  if (input) {
    if (state === 'error') input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  if (!messages) return;
  messages.replaceChildren(...(text ? [el('p', { class: `fr-message fr-message--${state || 'info'}`, id: `${messages.id}-texte` }, text)] : []));
}

/** A field in error with `text`, or no longer in error when `text` is empty. */
function setFieldError(group, messages, input, text) {
  setMessage(group, messages, text ? 'error' : null, text, input);
}

// ---------------------------------------------------------------- French formatting

const nombre = (n) => n.toLocaleString('fr-FR');

/** « 1 dossier », « 2 dossiers », « 1 234 dossiers »: the number, then the singular or plural. */
const plural = (n, one, many) => `${nombre(n)} ${n > 1 ? many : one}`;

/** A date (and by default its time) in Paris, « 3 mars 2025 à 14:05 »; '' for none. */
function dateFr(iso, withTime = true) {
  if (!iso) return '';
  const opts = withTime ? { dateStyle: 'long', timeStyle: 'short' } : { dateStyle: 'long' };
  return new Date(iso).toLocaleString('fr-FR', { ...opts, timeZone: 'Europe/Paris' });
}

/**
 * A school's GAR access as the ENT editor reported it, in words: « accès GAR ouvert le … »,
 * « refusé par l’éditeur : motif », or, once the convention is accepted (`accepteLe`), « en
 * attente de l’éditeur depuis N jours »; null before the acceptance.
 */
function garLabel(e, accepteLe) {
  const g = e.gar;
  if (g && g.etat === 'ouverte') return `accès GAR ouvert le ${dateFr(g.le, false)}`;
  if (g && g.etat === 'rejetee') return `refusé par l’éditeur${g.motif ? ` : ${g.motif}` : ''}`;
  if (!accepteLe) return null;
  const n = Math.max(0, Math.floor((Date.now() - new Date(accepteLe).getTime()) / 86400000));
  return `en attente de l’éditeur depuis ${n === 0 ? 'aujourd’hui' : plural(n, 'jour', 'jours')}`;
}

/** A SIRET as 3 3 3 5 digits; something else than digits is left as it is. */
/** What one version of the convention is, as both pages name it. */
function conventionLabel(c) {
  if (c.nature === 'contresignature') return `Convention contresignée par l’académie (version ${c.version})`;
  if (c.nature === 'correction') return `Convention corrigée, signée à nouveau par la collectivité (version ${c.version})`;
  return `Convention signée par la collectivité au dépôt (version ${c.version || 1})`;
}

/** The convention's term and its termination, in one sentence (`echeance`, `resiliation` of the
 * view). */
function termLabel(v) {
  const e = v.echeance;
  const r = v.resiliation;
  if (v.statut === 'resilie' && r) return `Résiliée depuis le ${dateFr(r.effet_le, false)} (résiliation demandée ${r.par === 'academie' ? 'par l’académie' : 'par la collectivité'}).`;
  const term = e ? `Prend effet le ${dateFr(e.prend_effet_le, false)} pour un an, renouvelée tacitement jusqu’au ${dateFr(e.fin_le, false)} au plus tard.` : '';
  if (!r) return term;
  return `${term} Résiliation demandée ${r.par === 'academie' ? 'par l’académie' : 'par la collectivité'} le ${dateFr(r.demandee_le)} : elle prend effet le ${dateFr(r.effet_le, false)}. Motif : ${r.motif}`;
}

function formatSiret(v) {
  const d = (v || '').replace(/\s+/g, '');
  if (!/^\d*$/.test(d)) return v;
  return [d.slice(0, 3), d.slice(3, 6), d.slice(6, 9), d.slice(9)].filter(Boolean).join(' ');
}

/** A path segment as typed; a malformed escape (`%E9`) is kept as it is, so the API answers
 * that nothing has this name instead of the page failing. */
function safeDecode(segment) {
  try { return decodeURIComponent(segment); } catch { return segment; }
}

// ---------------------------------------------------------------- API

/** A call to the API with a JSON body, never cached, without cookies: the Response, or null
 * when no answer came (network failure). `headers` add to or replace `accept: application/json`. */
async function apiFetch(method, url, body, headers = {}) {
  const h = { accept: 'application/json', ...headers };
  if (body !== undefined) h['content-type'] = 'application/json';
  try {
    return await fetch(url, {
      method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch {
    return null;
  }
}

/** { ok, status, data, headers }: data is the JSON body (an application/problem+json on
 * errors), null when there is none or it is not JSON. */
async function readAnswer(resp) {
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  return { ok: resp.ok, status: resp.status, data, headers: resp.headers };
}

/** Every message of a problem's `errors` (a 422), joined; '' when it has none. */
function errorMessages(problem) {
  return (problem?.errors || []).map((e) => e.message).join(' ');
}

/** What a problem says first: its first error's message, else its detail, else `fallback`. */
function problemMessage(problem, fallback) {
  return problem?.errors?.[0]?.message || problem?.detail || fallback;
}

// ---------------------------------------------------------------- Messagerie

/** A message of the messagerie; `labels` names its author by side (`instructeur`,
 * `collectivite`), as each page says it. */
function messageItem(m, labels) {
  return el('li', { class: `message message--${m.auteur}` },
    el('p', { class: 'message__entete' },
      el('strong', {}, labels[m.auteur] ? labels[m.auteur](m) : m.nom), ' — ',
      el('time', { datetime: m.le }, dateFr(m.le))),
    el('p', { class: 'message__texte' }, m.texte));
}

/** Runs `refresh` when the tab comes back into view and every minute (it checks by itself that
 * the page is in view); a failed refresh says nothing, the next one retries. */
function refreshWhileVisible(refresh) {
  document.addEventListener('visibilitychange', () => { refresh().catch(() => {}); });
  setInterval(() => { refresh().catch(() => {}); }, 60_000);
}

// The messagerie's form has the same ids on both pages: #message-texte in #groupe-message, its
// messages #message-texte-messages, the sending state #message-etat.

/** The message field in error with `text`, or no longer in error when `text` is ''. */
function setMessageFieldError(text) {
  setFieldError($('#groupe-message'), $('#message-texte-messages'), $('#message-texte'), text);
}

/** The message to send, trimmed; '' when there is none: the field then says so and has the focus. */
function messageToSend() {
  const input = $('#message-texte');
  const texte = input.value.trim();
  if (!texte) {
    setMessageFieldError('Écrivez votre message avant de l’envoyer.');
    input.focus();
  }
  return texte;
}

/** The message was not sent: why (`text`) on the field, which gets the focus back. */
function messageNotSent(text) {
  $('#message-etat').textContent = '';
  setMessageFieldError(text);
  $('#message-texte').focus();
}
