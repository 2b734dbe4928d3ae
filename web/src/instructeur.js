// Espace instructeur : liste des dossiers, dossier, décisions, messagerie, export.
// Sans framework, sans script en ligne. Le jeton (JWT) de l'instructeur est gardé dans le
// sessionStorage de l'onglet et envoyé en `Authorization: Bearer` aux routes /api/instructeur/ ;
// il n'apparaît jamais dans une adresse (ni donc dans un Referer ou un journal d'accès).
// Built with common.js in front (web/build.mjs): $, el, api helpers, formatting.

const TOKEN_KEY = 'conventions-ent.instructeur.jeton';
const PAGE_SIZE = 20;

const BADGES = {
  en_construction: 'fr-badge--new', en_instruction: 'fr-badge--info', accepte: 'fr-badge--success',
  refuse: 'fr-badge--error', sans_suite: 'fr-badge--warning', resilie: 'fr-badge--warning',
};
// The legal moves of Statut::can_become (src/domain/dossier.rs), by action.
const ACTIONS = {
  en_construction: ['passer_en_instruction'],
  en_instruction: ['accepter', 'refuser', 'classer_sans_suite', 'repasser_en_construction'],
  accepte: ['repasser_en_instruction', 'resilier'],
  refuse: ['repasser_en_instruction'],
  sans_suite: ['repasser_en_instruction'],
};
// Actions sent with the motif field when it is filled (the others ignore it).
const WITH_MOTIF = ['refuser', 'classer_sans_suite', 'repasser_en_construction', 'repasser_en_instruction', 'resilier'];
// Audit-trail actions whose detail is the instructeur's motif (Decision::label).
const DECISION_LABELS = ['dossier refusé', 'dossier classé sans suite', 'dossier renvoyé à la collectivité pour modification',
  'dossier repassé en instruction', 'dossier accepté', 'dossier passé en instruction'];
// (Termination lines carry their motif and date in their detail, shown as it is.)
const NEEDS_MOTIF = { refuser: 'du refus', classer_sans_suite: 'du classement sans suite', repasser_en_construction: 'de la demande de correction', resilier: 'de la résiliation' };

// ---------------------------------------------------------------- helpers

/** The API names states by their codes (« en_construction »): shown as the page names them. */
function statutNames(text) {
  return text.replace(/« ([a-z_]+) »/g, (m, code) => (STATUTS[code] ? `« ${STATUTS[code]} »` : m));
}

const VIEWS = ['vue-chargement', 'vue-connexion', 'vue-liste', 'vue-dossier'];
const show = (id) => showView(VIEWS, id);

// ---------------------------------------------------------------- API and session

const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

class SessionEnded extends Error {}

const OFFLINE = { ok: false, status: 0, data: { detail: 'La connexion au serveur a échoué : vérifiez votre réseau.' } };

/// Calls /api/instructeur/… with the token. A 401 first renews the token with the sign-in's
/// refresh token, when there is one, and tries once more (a 401 comes from the authorizer, so
/// nothing was done); a 401 after that, or a 403, ends the session (sign-in page), except for
/// `quiet` background calls, which just answer it.
async function api(method, path, body, { raw = false, renewed = false, quiet = false, prefer } = {}) {
  const sent = token.get();
  const resp = await apiFetch(method, `/api/instructeur${path}`, body,
    { accept: raw ? '*/*' : 'application/json', authorization: `Bearer ${sent}`, ...(prefer ? { prefer } : {}) });
  if (!resp) return OFFLINE;
  if (resp.status === 401 && !renewed) {
    // Renewed meanwhile by another call: try with the new token; otherwise renew.
    const renewal = token.get() && token.get() !== sent ? 'renewed' : await renewToken();
    if (renewal === 'renewed') return api(method, path, body, { raw, quiet, prefer, renewed: true });
    if (renewal === 'offline') return OFFLINE;
  }
  if (quiet && (resp.status === 401 || resp.status === 403)) return { ok: false, status: resp.status, data: null };
  if (resp.status === 401 || resp.status === 403) {
    if (resp.status === 401) signOut('Votre session a expiré ou votre jeton n’est plus valide : reconnectez-vous.');
    else signOut('Votre compte n’appartient pas au groupe « instructeurs » : cet espace ne vous est pas ouvert.', { otherAccount: true });
    throw new SessionEnded();
  }
  if (raw && resp.ok) return { ok: true, status: resp.status, resp };
  return readAnswer(resp);
}

function signOut(reason, options) {
  token.clear();
  revokeRefresh();
  sessionStorage.removeItem(LIST_KEY);
  sessionStorage.removeItem(ORDER_KEY);
  showSignIn(reason, options);
}

// ---------------------------------------------------------------- sign-in (authorization code + PKCE)
// With a sign-in configured (Cognito's hosted pages on AWS, the local sign-in of `make run`),
// the page is a public OAuth client: it sends the instructeur to `/oauth2/authorize` with a
// PKCE challenge and a `state`, then trades the returned code for an ID token at
// `/oauth2/token`. The code leaves the address at once; verifier and state live in this tab.

const PKCE_KEY = 'conventions-ent.instructeur.pkce';
const REFRESH_KEY = 'conventions-ent.instructeur.renouvellement';
const SIGNED_OUT_KEY = 'conventions-ent.instructeur.deconnexion';
const signInBox = $('#connexion-compte');
const provider = signInBox
  ? { origin: signInBox.dataset.origine, client: signInBox.dataset.client }
  : null;
const redirectUri = () => `${location.origin}/instructeur`;

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const randomToken = (n) => base64url(crypto.getRandomValues(new Uint8Array(n)));

/** A form POST to the sign-in (`/oauth2/token`, `/oauth2/revoke`) as its public client. */
function signInPost(path, fields, options = {}) {
  return fetch(`${provider.origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: provider.client, ...fields }),
    cache: 'no-store', credentials: 'omit', ...options,
  });
}

/** The tokens of a token-endpoint answer; a refresh token comes with the code, and again when
 * Cognito rotates them. */
function keepTokens(data) {
  token.set(data.id_token);
  if (data.refresh_token) sessionStorage.setItem(REFRESH_KEY, data.refresh_token);
}

async function startSignIn() {
  const verifier = randomToken(48);
  const state = randomToken(24);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({
    state, verifier, retour: `${location.pathname}${location.search}`,
  }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: provider.client, redirect_uri: redirectUri(), scope: 'openid email',
    state, code_challenge: base64url(new Uint8Array(digest)), code_challenge_method: 'S256',
  });
  location.assign(`${provider.origin}/oauth2/authorize?${q}`);
}

/** Back from the sign-in with `?code=…&state=…` (or `?error=…`): true when signed in. */
async function finishSignIn(params) {
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  sessionStorage.removeItem(PKCE_KEY);
  // The code leaves the address at once; the page asked for before the sign-in comes back.
  const back = pending?.retour?.startsWith('/instructeur') ? pending.retour : '/instructeur';
  history.replaceState(null, '', back);
  const fail = (text) => { signOut(text); return false; };
  if (params.get('error')) {
    return fail(params.get('error') === 'access_denied'
      ? 'La connexion a été annulée.'
      : `La page de connexion de l’académie a refusé la demande (${params.get('error')}) : recommencez.`);
  }
  if (!pending && token.get()) return true; // a stale or forged link: the session goes on
  if (!pending || !provider || pending.state !== params.get('state')) {
    return fail('Cette réponse de connexion ne correspond à aucune demande faite depuis cet onglet : recommencez la connexion.');
  }
  let resp;
  try {
    resp = await signInPost('/oauth2/token', {
      grant_type: 'authorization_code', code: params.get('code') || '', redirect_uri: redirectUri(), code_verifier: pending.verifier,
    });
  } catch {
    return fail('La page de connexion de l’académie ne répond pas : vérifiez votre réseau, puis recommencez.');
  }
  const data = resp.ok ? await resp.json().catch(() => null) : null;
  if (!data?.id_token) {
    return fail(resp.status >= 500
      ? 'La page de connexion de l’académie est momentanément indisponible : recommencez dans quelques instants.'
      : 'Le code de connexion a expiré ou a déjà servi : recommencez la connexion.');
  }
  keepTokens(data);
  announce('Connexion réussie.');
  return true;
}

let renewing = null;

/** A new ID token from the refresh token (valid 12 h on Cognito), so that an instructeur at
 * work all day is not asked for a password and a code every hour. One renewal at a time.
 * 'renewed', 'refused' (no or dead refresh token: sign in again) or 'offline' (try later). */
function renewToken() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (!provider || !refresh) return Promise.resolve('refused');
  renewing ||= (async () => {
    try {
      const resp = await signInPost('/oauth2/token', { grant_type: 'refresh_token', refresh_token: refresh });
      if (resp.status >= 500) return 'offline';
      const data = resp.ok ? await resp.json().catch(() => null) : null;
      // Signed out meanwhile: the answer must not sign in again.
      if (sessionStorage.getItem(REFRESH_KEY) !== refresh) return 'refused';
      if (!data?.id_token) return 'refused';
      keepTokens(data);
      return 'renewed';
    } catch {
      return 'offline';
    } finally {
      renewing = null;
    }
  })();
  return renewing;
}

/** Revokes the refresh token the page is about to forget (the client allows revocation): it
 * would otherwise stay valid for 12 h. Sent even if the page navigates away. */
function revokeRefresh() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  if (!refresh || !provider) return;
  signInPost('/oauth2/revoke', { token: refresh }, { keepalive: true }).catch(() => {});
}

/** « Se déconnecter »: forget the token here, and end the session at the sign-in too (a shared
 * computer must not sign the next person in by itself). */
function signOutEverywhere() {
  signOut(''); // revokes the refresh token too
  if (!provider) {
    announce('Vous êtes déconnecté.');
    return;
  }
  const q = new URLSearchParams({ client_id: provider.client, logout_uri: redirectUri() });
  sessionStorage.setItem(SIGNED_OUT_KEY, '1'); // said on the way back
  location.assign(`${provider.origin}/logout?${q}`);
}

/** The sign-in view; `otherAccount` (after a 403) offers to leave the account the sign-in page
 * would otherwise sign in again by itself. */
function showSignIn(reason, { kind = 'warning', title = 'Connexion nécessaire', otherAccount = false } = {}) {
  setTitle('Connexion');
  const box = reason ? alertBox(kind, title, reason, 'h2') : null;
  if (box && otherAccount && provider) {
    const other = el('button', { type: 'button', class: 'fr-btn fr-btn--secondary fr-btn--sm fr-mt-1w' }, 'Se connecter avec un autre compte');
    other.addEventListener('click', signOutEverywhere);
    box.append(other);
  }
  $('#connexion-alerte').replaceChildren(...(box ? [box] : []));
  $('#jeton').value = '';
  show('vue-connexion');
  $('#connexion-titre').focus();
}

function setupSignIn() {
  const input = $('#jeton');
  const group = $('#groupe-jeton');
  const messages = $('#jeton-messages');
  input.addEventListener('input', () => setFieldError(group, messages, input, ''));
  $('#connexion-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const t = input.value.trim().replace(/^Bearer\s+/i, '');
    if (!t) {
      setFieldError(group, messages, input, 'Collez votre jeton d’accès.');
      input.focus();
      return;
    }
    const resp = await apiFetch('GET', '/api/instructeur/dossiers?limite=1', undefined, { authorization: `Bearer ${t}` });
    if (!resp || !resp.ok) {
      const msg = !resp ? 'Le serveur ne répond pas : réessayez dans quelques instants.'
        : resp.status === 401 ? 'Ce jeton n’est pas valide ou a expiré : demandez-en un nouveau.'
          : resp.status === 403 ? 'Ce jeton est valide mais son compte n’appartient pas au groupe « instructeurs ».'
            : 'Le service est momentanément indisponible : réessayez dans quelques instants.';
      setFieldError(group, messages, input, msg);
      input.focus();
      return;
    }
    token.set(t);
    $('#connexion-alerte').replaceChildren();
    announce('Connexion réussie.');
    route();
  });
  for (const b of $$('.js-deconnexion')) b.addEventListener('click', signOutEverywhere);
  $('#connexion-compte-bouton')?.addEventListener('click', () => {
    startSignIn().catch(() => showSignIn('La connexion n’a pas pu démarrer dans ce navigateur.'));
  });
}

// ---------------------------------------------------------------- Routing

async function route() {
  const params = new URLSearchParams(location.search);
  if (location.pathname.replace(/\/$/, '') === '/instructeur' && (params.has('code') || params.has('error'))) {
    if (!(await finishSignIn(params))) return;
  }
  if (!token.get()) {
    const back = sessionStorage.getItem(SIGNED_OUT_KEY);
    sessionStorage.removeItem(SIGNED_OUT_KEY);
    if (back) {
      showSignIn('Vous êtes déconnecté, ici et sur la page de connexion de l’académie.', { kind: 'info', title: 'Déconnexion' });
      announce('Vous êtes déconnecté.');
    } else showSignIn('');
    return;
  }
  const m = location.pathname.match(/^\/instructeur\/dossiers\/([^/]+)\/?$/);
  try {
    if (m) await showDossier(safeDecode(m[1]), true);
    else await showList(true);
  } catch (e) {
    if (!(e instanceof SessionEnded)) throw e;
  }
}

// ---------------------------------------------------------------- List

const FILTERS = ['q', 'statut', 'gar', 'echeance', 'nature', 'correction', 'tri', 'departement', 'commune', 'du', 'au'];
let cursors = [null]; // cursor of each page shown, for « Précédent »
let listQuery = '';

function filtersFromUrl() {
  const p = new URLSearchParams(location.search);
  for (const f of FILTERS) $(`#f-${f}`).value = p.get(f) || '';
  const limite = String(Math.min(Math.max(Number(p.get('limite')) || PAGE_SIZE, 1), 200));
  $('#f-limite').value = limite; // none selected when the address asks for another size
  const q = new URLSearchParams();
  for (const f of FILTERS) if (p.get(f)) q.set(f, p.get(f));
  q.set('limite', limite);
  return q;
}

const LIST_KEY = 'conventions-ent.instructeur.liste';
const ORDER_KEY = 'conventions-ent.instructeur.ordre';

async function showList(focusTitle) {
  setTitle('Dossiers déposés');
  // « Retour à la liste » from a dossier comes back to these filters (no secret in them).
  sessionStorage.setItem(LIST_KEY, `${location.pathname}${location.search}`);
  show('vue-liste');
  const q = filtersFromUrl();
  listQuery = q.toString();
  cursors = [null];
  loadFigures(q);
  await loadPage(0);
  if (focusTitle) $('#liste-titre').focus();
}

async function loadPage(index) {
  const q = new URLSearchParams(listQuery);
  if (cursors[index]) q.set('curseur', cursors[index]);
  $('#liste-etat').textContent = 'Chargement des dossiers…';
  $('#liste-alerte').replaceChildren();
  const r = await api('GET', `/dossiers?${q}`);
  if (!r.ok) {
    $('#liste-etat').textContent = '';
    const detail = r.status === 422 ? errorMessages(r.data) : r.data?.detail;
    // h2: the alert sits right under the page's h1.
    $('#liste-alerte').replaceChildren(alertBox('error', 'La liste n’a pas pu être chargée', detail || 'Le service est momentanément indisponible.', 'h2'));
    return;
  }
  cursors = cursors.slice(0, index + 1);
  if (r.data.curseur_suivant) cursors.push(r.data.curseur_suivant);
  pageDossiers = r.data.dossiers;
  currentPage = index;
  // The dossier page offers « précédent / suivant » through this page of the list.
  sessionStorage.setItem(ORDER_KEY, JSON.stringify(pageDossiers.map((d) => [d.id, d.numero])));
  const rows = r.data.dossiers.map(listRow);
  if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: '7' }, 'Aucun dossier ne correspond à ces filtres.')));
  $('#liste-corps').replaceChildren(...rows);
  selectionChanged();
  const n = r.data.dossiers.length;
  $('#liste-etat').textContent = `Page ${index + 1} : ${plural(n, 'dossier', 'dossiers')}${r.data.curseur_suivant ? ', d’autres suivent' : ''}.`;
  const next = $('#suivant');
  next.hidden = !r.data.curseur_suivant;
  next.dataset.page = String(index + 1);
  const prev = $('#precedent');
  prev.hidden = index === 0;
  prev.dataset.page = String(index - 1);
}

let figuresAsked = 0;

/** « En chiffres »: the dossiers the filters select, per statut (each a link to that list),
 * and the schools they cover. Not awaited: the list does not wait for them (under filters they
 * read every selected dossier); an answer older than the last question is dropped; hidden when
 * they cannot be had. Without filters they come from counters a few seconds behind the
 * dossiers (`source: compteurs`): asked again two and six seconds later, so that a decision
 * just taken shows in them. */
async function loadFigures(listQ, again = [2000, 6000]) {
  const asked = ++figuresAsked;
  const q = new URLSearchParams(listQ);
  q.delete('statut');
  q.delete('limite');
  let r;
  try {
    r = await api('GET', `/statistiques?${q}`);
  } catch (err) {
    if (err instanceof SessionEnded) return;
    throw err;
  }
  if (asked !== figuresAsked) return;
  $('#chiffres').hidden = !r.ok;
  if (!r.ok) return;
  const f = r.data;
  const current = new URLSearchParams(location.search).get('statut');
  const figure = (statut, label, n) => {
    const link = new URLSearchParams(location.search);
    if (statut) link.set('statut', statut);
    else link.delete('statut');
    const here = (current || '') === (statut || '');
    return el('li', {}, el('a', { href: `/instructeur${link.toString() ? `?${link}` : ''}`, ...(here ? { 'aria-current': 'page' } : {}) },
      `${label} : `, el('strong', {}, nombre(n))));
  };
  $('#chiffres-liste').replaceChildren(
    figure(null, 'Tous les dossiers', f.dossiers),
    ...Object.keys(BADGES).map((statut) => figure(statut, STATUTS[statut], f.par_statut[statut] || 0)));
  const { collectivites, ecoles } = f;
  $('#chiffres-ecoles').textContent = `${plural(collectivites, 'collectivité', 'collectivités')} ; `
    + `${plural(ecoles.conventionnees, 'école couverte', 'écoles couvertes')} par une convention signée (ni refusée ni classée sans suite), `
    + `dont ${nombre(ecoles.acceptees)} dans un dossier accepté.`;
  if (f.source === 'compteurs' && again.length) {
    const [wait, ...later] = again;
    setTimeout(() => { if (asked === figuresAsked) loadFigures(listQ, later); }, wait);
  }
}

function listRow(d) {
  const c = d.collectivite || {};
  const nom = c.nom || `SIRET ${formatSiret(c.siret)}`;
  return el('tr', {},
    el('td', {}, el('input', { type: 'checkbox', class: 'js-choix', value: d.id, 'aria-label': `Sélectionner le dossier ${d.numero}` })),
    el('th', { scope: 'row' }, el('a', { href: `/instructeur/dossiers/${encodeURIComponent(d.id)}` }, d.numero)),
    el('td', {}, nom, ...(c.verifie === false ? [el('br'), el('span', { class: 'fr-text--xs' }, 'non vérifiée au répertoire des entreprises')] : [])),
    el('td', {}, (d.communes || []).join(', ')),
    el('td', {}, String(d.ecoles)),
    el('td', {}, dateFr(d.depose_le)),
    el('td', {}, el('span', { class: `fr-badge fr-badge--sm fr-badge--no-icon ${BADGES[d.statut] || ''}` }, STATUTS[d.statut] || d.statut),
      ...(d.gar && d.gar.en_attente + d.gar.rejetees > 0
        ? [el('br'), el('span', { class: 'fr-text--xs' }, `${plural(d.gar.en_attente + d.gar.rejetees, 'école', 'écoles')} en attente de l’éditeur`)]
        : [])));
}

// ---------------------------------------------------------------- decisions on several dossiers
// The same API call as on a dossier's page, once per dossier (4 at a time); the server checks
// each transition, so a dossier another instructeur moved meanwhile is reported, not forced.

let pageDossiers = [];
let currentPage = 0;
const BULK = {
  passer_en_instruction: {
    from: 'en_construction', nom: '« Passer en instruction »', faire: (what) => `passer ${what} en instruction`,
    fait: ['passé en instruction', 'passés en instruction'],
  },
  accepter: { from: 'en_instruction', nom: '« Accepter »', faire: (what) => `accepter ${what}`, fait: ['accepté', 'acceptés'] },
};
// Every dossier of the filters, on every page (« Sélectionner tous les dossiers des filtres »);
// null while the selection is the page's ticked boxes.
let wholeSelection = null;
const WHOLE_MAX = 5000;

function chosen() {
  if (wholeSelection) return wholeSelection;
  const ids = new Set($$('.js-choix').filter((c) => c.checked).map((c) => c.value));
  return pageDossiers.filter((d) => ids.has(d.id));
}

function selectionChanged() {
  wholeSelection = null;
  const boxes = $$('.js-choix');
  const n = boxes.filter((c) => c.checked).length;
  const all = $('#lot-tout');
  all.checked = n > 0 && n === boxes.length;
  all.indeterminate = n > 0 && n < boxes.length;
  all.disabled = boxes.length === 0;
  $('#lot-etat').textContent = n ? `${plural(n, 'dossier sélectionné', 'dossiers sélectionnés')}.` : 'Aucun dossier sélectionné.';
  $('#lot-confirmation').hidden = true;
}

/** Every dossier the list's filters select, page after page (200 at a time). */
async function selectWhole() {
  const all = [];
  let cursor = null;
  $('#lot-etat').textContent = 'Recherche de tous les dossiers des filtres…';
  do {
    const q = new URLSearchParams(listQuery);
    q.set('limite', '200');
    if (cursor) q.set('curseur', cursor);
    const r = await api('GET', `/dossiers?${q}`);
    if (!r.ok) {
      $('#lot-etat').textContent = 'Aucun dossier sélectionné.';
      $('#lot-resultat').replaceChildren(alertBox('error', 'La sélection n’a pas pu être faite', r.data?.detail || errorMessages(r.data) || 'Le service est momentanément indisponible.'));
      return;
    }
    all.push(...r.data.dossiers);
    cursor = r.data.curseur_suivant;
  } while (cursor && all.length < WHOLE_MAX);
  for (const c of $$('.js-choix')) c.checked = true;
  $('#lot-tout').checked = all.length > 0;
  $('#lot-tout').indeterminate = false;
  wholeSelection = all;
  $('#lot-etat').textContent = `${plural(all.length, 'dossier sélectionné', 'dossiers sélectionnés')} : tous ceux des filtres, sur toutes les pages${cursor ? ` (les ${WHOLE_MAX} premiers)` : ''}.`;
  $('#lot-confirmation').hidden = true;
}

/** { done, failures, ended }: `ended` when the session ended midway (the rest was not sent). */
async function runBulk(call, dossiers) {
  const failures = [];
  let done = 0;
  let ended = false;
  const queue = [...dossiers];
  $('#lot-etat').textContent = `Traitement de ${plural(dossiers.length, 'dossier', 'dossiers')}…`;
  const worker = async () => {
    while (!ended && queue.length) {
      const d = queue.shift();
      let r;
      try {
        r = await call(d);
      } catch (err) {
        if (!(err instanceof SessionEnded)) throw err;
        ended = true;
        return;
      }
      if (r.ok) done += 1;
      else failures.push({ d, detail: statutNames(r.data?.detail || errorMessages(r.data) || `erreur ${r.status}`) });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { done, failures, ended };
}

/** The selected dossiers as a CSV (`;`, UTF-8 with BOM, as spreadsheets in French open it);
 * a cell that a spreadsheet would take for a formula gets a leading apostrophe, as in the
 * server's export. */
function downloadSelection(dossiers) {
  const cell = (v) => {
    let t = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(t)) t = `'${t}`;
    return /[;"\n\r]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const head = ['numero', 'statut', 'depose_le', 'collectivite', 'siret', 'ecoles', 'communes', 'messages'];
  const rows = dossiers.map((d) => [d.numero, STATUTS[d.statut] || d.statut, d.depose_le, d.collectivite?.nom,
    d.collectivite?.siret, d.ecoles, (d.communes || []).join(', '), d.messages]);
  const text = `\ufeff${[head, ...rows].map((r) => r.map(cell).join(';')).join('\r\n')}\r\n`;
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' })), download: 'dossiers-selection.csv' });
  document.body.append(a);
  a.click();
  a.remove();
}

function setupBulk() {
  $('#liste-corps').addEventListener('change', (e) => { if (e.target.matches('.js-choix')) selectionChanged(); });
  $('#lot-tout').addEventListener('change', (e) => {
    for (const c of $$('.js-choix')) c.checked = e.target.checked;
    selectionChanged();
  });
  let pending = null;
  let busy = false;
  const result = $('#lot-resultat');
  $('#lot-filtres').addEventListener('click', async () => {
    if (busy) return;
    result.replaceChildren();
    try { await selectWhole(); } catch (e) { if (!(e instanceof SessionEnded)) throw e; }
  });
  $('#lot-export').addEventListener('click', () => {
    const selected = chosen();
    result.replaceChildren();
    if (!selected.length) {
      result.replaceChildren(alertBox('error', 'Aucun export', 'Cochez d’abord les dossiers concernés dans la liste.'));
      return;
    }
    downloadSelection(selected);
    $('#lot-etat').textContent = `${plural(selected.length, 'dossier exporté', 'dossiers exportés')} (dossiers-selection.csv).`;
  });
  $('#lot-message-envoyer').addEventListener('click', () => {
    if (busy) return;
    const texte = $('#lot-message').value.trim();
    const selected = chosen();
    result.replaceChildren();
    if (!selected.length || !texte) {
      result.replaceChildren(alertBox('error', 'Aucun message envoyé', !selected.length
        ? 'Cochez d’abord les dossiers concernés dans la liste.'
        : 'Écrivez d’abord le message à envoyer.'));
      return;
    }
    const what = plural(selected.length, 'dossier', 'dossiers');
    pending = { message: texte, eligible: selected, fait: ['message envoyé', 'messages envoyés'] };
    $('#lot-question').textContent = `Envoyer ce message à la collectivité de chacun des ${what} sélectionnés ? Chaque signataire le reçoit par courriel et le retrouve dans son dossier.`;
    $('#lot-oui').textContent = `Oui, envoyer ${plural(selected.length, 'message', 'messages')}`;
    $('#lot-confirmation').hidden = false;
    $('#lot-question').focus();
  });
  for (const b of $$('#lot-boutons button')) {
    b.addEventListener('click', () => {
      if (busy) return;
      const action = b.value;
      const { from, nom, faire } = BULK[action];
      const selected = chosen();
      const eligible = selected.filter((d) => d.statut === from);
      result.replaceChildren();
      if (!eligible.length) {
        result.replaceChildren(alertBox('error', 'Aucune décision prise', selected.length
          ? `Aucun des dossiers sélectionnés n’est « ${STATUTS[from]} » : ${nom} ne s’applique qu’aux dossiers « ${STATUTS[from]} ».`
          : 'Cochez d’abord les dossiers concernés dans la liste.'));
        return;
      }
      pending = { action, eligible, fait: BULK[action].fait };
      const others = selected.length - eligible.length;
      const what = plural(eligible.length, 'dossier', 'dossiers');
      const question = faire(`${what} (${eligible.map((d) => d.numero).join(', ')})`);
      $('#lot-question').textContent = `${question[0].toUpperCase()}${question.slice(1)} ?`
        + ' Chaque signataire en sera informé par courriel.'
        + (others ? ` ${plural(others, 'autre dossier sélectionné n’est', 'autres dossiers sélectionnés ne sont')} pas « ${STATUTS[from]} » : ${others > 1 ? 'ils restent tels quels' : 'il reste tel quel'}.` : '');
      $('#lot-oui').textContent = `Oui, ${faire(what)}`;
      $('#lot-confirmation').hidden = false;
      $('#lot-question').focus();
    });
  }
  $('#lot-non').addEventListener('click', () => {
    pending = null;
    $('#lot-confirmation').hidden = true;
    $('#lot-tout').focus();
  });
  $('#lot-oui').addEventListener('click', async () => {
    if (!pending || busy) return;
    const { action, message, eligible, fait } = pending;
    pending = null;
    const call = message
      ? (d) => api('POST', `/dossiers/${encodeURIComponent(d.id)}/messages`, { texte: message })
      : (d) => api('POST', `/dossiers/${encodeURIComponent(d.id)}/decision`, { action });
    busy = true;
    for (const b of $$('#lot-boutons button')) b.setAttribute('aria-disabled', 'true');
    $('#lot-confirmation').hidden = true;
    try {
      const { done, failures, ended } = await runBulk(call, eligible);
      if (ended) {
        // The sign-in page is shown: say what was done before the session ended.
        $('#connexion-alerte').append(alertBox('info', 'Décision pour plusieurs dossiers interrompue',
          `${plural(done, fait[0], fait[1])} sur ${eligible.length} avant la fin de la session ; les autres n’ont pas été modifiés. Reconnectez-vous, puis vérifiez la liste.`, 'h2'));
        return;
      }
      loadFigures(new URLSearchParams(listQuery));
      await loadPage(currentPage);
      const [one, many] = fait;
      const summary = message ? `${plural(done, one, many)}.` : `${plural(done, `dossier ${one}`, `dossiers ${many}`)}.`;
      if (message && !failures.length) $('#lot-message').value = '';
      result.replaceChildren(failures.length
        ? alertBox('warning', `${summary} ${plural(failures.length, 'dossier n’a', 'dossiers n’ont')} pas pu l’être :`,
          el('ul', {}, ...failures.map(({ d, detail }) => el('li', {},
            el('a', { href: `/instructeur/dossiers/${encodeURIComponent(d.id)}` }, d.numero), ` : ${detail}`))))
        : alertBox('success', message ? 'Messages envoyés' : 'Décisions enregistrées', `${summary} Chaque signataire en est informé par courriel.`));
      result.setAttribute('tabindex', '-1');
      result.focus();
    } catch (err) {
      if (!(err instanceof SessionEnded)) throw err;
    } finally {
      busy = false;
      for (const b of $$('#lot-boutons button')) b.removeAttribute('aria-disabled');
    }
  });
}

function setupList() {
  // « Précédent » sits next to « Suivant ».
  const next = $('#suivant');
  const prev = el('button', { type: 'button', class: 'fr-btn fr-btn--tertiary fr-mr-2w', id: 'precedent', hidden: '' }, 'Précédent');
  next.before(prev);
  const go = (b) => async () => {
    try {
      await loadPage(Number(b.dataset.page));
      $('#liste-etat').focus();
    } catch (e) { if (!(e instanceof SessionEnded)) throw e; }
  };
  $('#liste-etat').setAttribute('tabindex', '-1');
  next.addEventListener('click', go(next));
  prev.addEventListener('click', go(prev));
  $('#filtres').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) {
      const v = $(`#f-${f}`).value.trim();
      if (v) q.set(f, v);
    }
    const limite = $('#f-limite').value || new URLSearchParams(location.search).get('limite');
    if (limite && limite !== String(PAGE_SIZE)) q.set('limite', limite);
    history.pushState(null, '', `/instructeur${q.toString() ? `?${q}` : ''}`);
    try {
      // #liste-etat is a status region: it announces the result itself.
      await showList(false);
    } catch (err) { if (!(err instanceof SessionEnded)) throw err; }
  });
  $('#f-effacer').addEventListener('click', () => {
    for (const f of FILTERS) $(`#f-${f}`).value = '';
    $('#f-limite').value = String(PAGE_SIZE);
    $('#f-q').focus();
  });
  for (const b of $$('#export-form button[data-format]')) b.addEventListener('click', () => exportFile(b.dataset.format));
}

/** What the status region says of an export under way. */
function exportProgress(job) {
  if (!job.dossiers_lus) return 'Export en préparation…';
  const n = (v) => Number(v).toLocaleString('fr-FR');
  return `Export en préparation : ${n(job.dossiers_lus)} dossier${job.dossiers_lus > 1 ? 's' : ''} lu${job.dossiers_lus > 1 ? 's' : ''}, ${n(job.lignes)} école${job.lignes > 1 ? 's' : ''}…`;
}

// The export is a file the server writes (a job): its status is asked for every two seconds
// until it is written, then the browser downloads it from its link (a navigation: the file
// never passes through the page's memory, whatever its size).
async function exportFile(format) {
  const depuis = $('#export-depuis').value;
  const q = depuis ? `?depuis=${encodeURIComponent(depuis)}` : '';
  const etat = $('#export-etat');
  etat.textContent = 'Préparation de l’export…';
  let r;
  try {
    r = await api('GET', `/export/ecoles.${format}${q}`, undefined, { prefer: 'respond-async' });
    while (r.ok && (r.data?.etat === 'demande' || r.data?.etat === 'en_cours')) {
      etat.textContent = exportProgress(r.data);
      await new Promise((done) => setTimeout(done, 2000));
      r = await api('GET', r.data.statut.replace(/^\/api\/instructeur/, ''));
    }
  } catch (e) {
    if (e instanceof SessionEnded) return;
    throw e;
  }
  if (!r.ok || r.data?.etat !== 'pret' || !r.data.telechargement) {
    etat.textContent = `L’export a échoué : ${r.data?.erreur || problemMessage(r.data, 'service momentanément indisponible.')}`;
    return;
  }
  const job = r.data;
  const a = el('a', { href: job.telechargement, download: job.fichier, hidden: '' });
  document.body.append(a);
  a.click();
  a.remove();
  etat.textContent = `Export téléchargé : ${job.fichier} (${job.lignes} école${job.lignes > 1 ? 's' : ''}).`;
}

// ---------------------------------------------------------------- Dossier

let current = null;

async function showDossier(id, focusTitle) {
  show('vue-dossier');
  $('#voisins').hidden = true;
  const back = sessionStorage.getItem(LIST_KEY);
  $('#retour-liste').href = back && back.startsWith('/instructeur') ? back : '/instructeur';
  $('#dossier-alerte').replaceChildren();
  const r = await api('GET', `/dossiers/${encodeURIComponent(id)}`);
  if (!r.ok) {
    $('#dossier-contenu').hidden = true;
    setTitle('Dossier introuvable');
    // The alert's title is the page's h1: the dossier's own heading is hidden with its content.
    $('#dossier-alerte').replaceChildren(alertBox('error', r.status === 404 ? 'Dossier introuvable' : 'Le dossier n’a pas pu être chargé',
      r.data?.detail || 'Le service est momentanément indisponible.', 'h1'));
    $('#retour-liste').focus();
    return;
  }
  $('#dossier-contenu').hidden = false;
  renderDossier(r.data);
  renderNeighbours(id);
  if (focusTitle) $('#dossier-titre').focus();
}

/** Links to the dossiers before and after this one in the list last shown, so that an
 * instructeur can work through it without going back each time. */
function renderNeighbours(id) {
  let order = [];
  try { order = JSON.parse(sessionStorage.getItem(ORDER_KEY) || '[]'); } catch { order = []; }
  const i = order.findIndex(([x]) => x === id);
  $('#voisins').hidden = i < 0;
  if (i < 0) return;
  const link = (a, entry, label) => {
    a.hidden = !entry;
    if (!entry) return;
    a.href = `/instructeur/dossiers/${encodeURIComponent(entry[0])}`;
    a.textContent = `${label} (${entry[1]})`;
  };
  link($('#dossier-precedent'), order[i - 1], 'Dossier précédent');
  link($('#dossier-suivant'), order[i + 1], 'Dossier suivant');
  $('#dossier-rang').textContent = `${i + 1} sur ${order.length} sur cette page de la liste`;
}

function renderDossier(v) {
  current = v;
  setTitle(`Dossier n° ${v.numero}`);
  $('#d-numero').textContent = `n° ${v.numero}`;
  const badge = $('#d-statut');
  badge.className = `fr-badge fr-badge--no-icon ${BADGES[v.statut] || ''}`;
  badge.textContent = STATUTS[v.statut] || v.statut;
  const exp = $('#d-expiration');
  exp.hidden = !v.expire_le;
  // DynamoDB deletes expired items within a few days of the date, not at it.
  const past = v.expire_le && Date.parse(v.expire_le) <= Date.now();
  exp.textContent = !v.expire_le ? ''
    : past ? `La durée de conservation de ce dossier a pris fin le ${dateFr(v.expire_le, false)} : il va être supprimé automatiquement dans les prochains jours.`
    : `Ce dossier sera supprimé automatiquement le ${dateFr(v.expire_le, false)} (durée de conservation des dossiers refusés ou classés sans suite).`;
  const corr = v.correction_demandee;
  $('#d-correction').hidden = !corr;
  $('#d-correction-detail').textContent = corr
    ? `Demandée le ${dateFr(corr.le)} : ${corr.motif} Le dossier ci-dessous est celui déposé ; la collectivité le corrige et le dépose à nouveau.`
    : '';
  $('#acces-resultat').replaceChildren();
  const c = v.collectivite || {};
  $('#d-collectivite').replaceChildren(
    `${c.nom || `Collectivité de SIREN ${c.siren || '?'}`} — SIRET ${formatSiret(c.siret)}${c.nature ? ` — ${c.nature}` : ''}${c.adresse ? ` — ${c.adresse}` : ''}`,
    ...(c.verifie === false ? [el('br'), el('strong', {}, 'Non vérifiée au répertoire des entreprises : à contrôler.')] : []));
  const s = v.signataire || {};
  $('#d-signataire').textContent = `${s.prenom || ''} ${(s.nom || '').toUpperCase()}, ${s.qualite || ''} — ${s.email || ''}`;
  const rf = v.referent || {};
  $('#d-referent').textContent = rf.designe ? `${rf.prenom_nom} — ${rf.email}` : 'Aucun référent désigné';
  const sig = v.signature || {};
  $('#d-depot').textContent = v.depose_le
    ? `Déposé et signé le ${dateFr(v.depose_le)}${sig.version_texte ? ` (texte version ${sig.version_texte})` : ''}${sig.ip ? `, adresse IP ${sig.ip}` : ''}.`
    : 'Non déposé.';
  // Every version, the one in force first (the countersigned one once accepted).
  const versions = v.conventions && v.conventions.length ? [...v.conventions].reverse() : (v.convention ? [v.convention] : []);
  $('#d-convention').replaceChildren(...(versions.length
    ? [el('ul', { class: 'fr-mb-0' }, ...versions.map((c) => el('li', {},
      el('strong', {}, conventionLabel(c)),
      ` : éditée le ${dateFr(c.genere_le)} ; code de vérification ${c.code_verification} ; SHA-256 ${c.sha256}.`)))]
    : ['En cours d’édition.']));
  // A school outside the collectivité's territory is accepted (syndicats scolaires cover
  // several communes) but shown, for the instructeur to check.
  const fermees = new Map((v.ecoles_fermees || []).map((f) => [f.uai, f]));
  $('#d-ecoles').replaceChildren(...(v.ecoles || []).map((e) => el('tr', {},
    el('td', {}, e.uai), el('td', {}, e.nom || '', ...(fermees.has(e.uai)
      ? [' ', el('p', { class: 'fr-badge fr-badge--warning fr-badge--sm' }, `fermée à l’annuaire (constaté le ${dateFr(fermees.get(e.uai).constatee_le, false)}) : avenant attendu`)]
      : [])),
    el('td', {}, e.commune || '', ...(e.hors_territoire
      ? [' ', el('p', { class: 'fr-badge fr-badge--warning fr-badge--sm' }, 'hors du territoire de la collectivité')]
      : [])),
    el('td', { class: 'gar' }, garLabel(e, v.accepte_le) || '—'))));
  $('#d-editeur').textContent = editeurLabel(v);
  renderMessages(v.messages || []);
  $('#d-historique').replaceChildren(...(v.historique || []).map((h) => el('li', {},
    el('time', { datetime: h.le }, dateFr(h.le)), ` — ${h.action} — par ${h.par}`,
    ...(h.detail ? [el('br'), el('span', { class: 'motif' }, DECISION_LABELS.includes(h.action) ? `Motif : ${h.detail}` : h.detail)] : []))));
  $('#d-echeance').textContent = termLabel(v) || '—';
  const nature = v.nature === 'avenant'
    ? `Avenant n° ${v.avenant?.rang || 1} à la convention n° ${v.convention_initiale} : une fois accepté, la convention porte sur les écoles ci-dessous.`
    : v.nature === 'renouvellement' ? `Renouvellement de la convention n° ${v.convention_initiale}.`
      : (v.avenants || []).length ? `Convention modifiée par ${v.avenants.map((a) => `l’avenant n° ${a.rang} (${a.numero})`).join(', ')} : écoles actuelles ${(v.perimetre_actuel || []).map((e) => e.uai).join(', ')}.` : 'Convention.';
  $('#d-nature').textContent = nature;
  // A termination is asked once; repassing in instruction stays open until it takes effect.
  const legal = (ACTIONS[v.statut] || []).filter((a) => a !== 'resilier' || !v.resiliation);
  for (const b of $$('#decision-boutons button')) b.closest('li').hidden = !legal.includes(b.value);
  $('#decision-form').hidden = legal.length === 0;
}

/** Who the schools go to, and how the last delivery of the webhook went. */
function editeurLabel(v) {
  const e = v.editeur;
  if (!e) return 'Aucun éditeur de l’ENT n’est configuré pour ce dossier : ses écoles se remettent par l’export.';
  const w = v.webhook || {};
  const last = (w.tentatives || []).at(-1);
  const delivery = !e.webhook ? ' Pas de webhook : ses écoles lui sont remises par l’export.'
    : w.etat === 'livre' ? ` Webhook reçu par l’éditeur${last ? ` le ${dateFr(last.le)}` : ''}.`
      : w.etat === 'a_envoyer' ? ` Webhook en cours d’envoi${last ? ` (dernière tentative le ${dateFr(last.le)} : ${last.erreur || `HTTP ${last.statut_http}`})` : ''}.`
        : '';
  return `Éditeur de l’ENT : ${e.nom}.${delivery}`;
}

const LABELS = {
  instructeur: (m) => `Académie (${m.nom})`,
  collectivite: (m) => `Collectivité (${m.nom})`,
};

function renderMessages(list) {
  $('#d-messages-vide').hidden = list.length > 0;
  $('#d-messages').replaceChildren(...list.map((m) => messageItem(m, LABELS)));
}

/** A message from the collectivité shows up without reloading: when the tab comes back into
 * view, and every minute while it is in view. Only the messages change on screen (a motif
 * being typed stays as it is). */
async function refreshMessages() {
  if (!current || $('#vue-dossier').hidden || document.visibilityState !== 'visible' || !token.get()) return;
  const { id } = current;
  // Quiet: a session that ended is for the next action of the instructeur to say, not for a
  // timer to show while a motif is being typed.
  const r = await api('GET', `/dossiers/${encodeURIComponent(id)}`, undefined, { quiet: true });
  if (!r.ok || current?.id !== id) return;
  const before = (current.messages || []).length;
  const list = r.data.messages || [];
  // Messages are only ever added: a shorter list is an answer older than a message just sent.
  if (list.length <= before) return;
  current.messages = list;
  renderMessages(list);
  if (list.length > before && list[list.length - 1].auteur === 'collectivite') announce('Nouveau message de la collectivité.');
}

function setupDossier() {
  refreshWhileVisible(refreshMessages);
  const motif = $('#motif');
  const motifGroup = $('#groupe-motif');
  motif.addEventListener('input', () => setFieldError(motifGroup, $('#motif-messages'), motif, ''));
  let busy = false;
  $('#decision-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const action = e.submitter?.value;
    if (!action || busy || !current) return;
    const result = $('#decision-resultat');
    result.replaceChildren();
    setFieldError(motifGroup, $('#motif-messages'), motif, '');
    const texte = motif.value.trim();
    if (NEEDS_MOTIF[action] && !texte) {
      const msg = `Indiquez le motif ${NEEDS_MOTIF[action]} : il est obligatoire et sera envoyé à la collectivité.`;
      setFieldError(motifGroup, $('#motif-messages'), motif, msg);
      result.replaceChildren(alertBox('error', 'Décision non enregistrée', msg));
      motif.focus();
      return;
    }
    busy = true;
    const body = { action };
    if (texte && WITH_MOTIF.includes(action)) body.motif = texte;
    try {
      const r = await api('POST', `/dossiers/${encodeURIComponent(current.id)}/decision`, body);
      if (r.ok) {
        motif.value = '';
        await showDossier(current.id, false);
        const status = r.data.resiliation && action === 'resilier'
          ? `La résiliation prend effet le ${dateFr(r.data.resiliation.effet_le, false)} ; d’ici là, la convention reste en vigueur.`
          : `Le dossier est maintenant « ${STATUTS[r.data.statut] || r.data.statut} ».`;
        result.replaceChildren(alertBox('success', 'Décision enregistrée',
          `${status}${r.data.contresignature_en_cours
            ? ' La convention contresignée par l’académie est en cours d’édition : le signataire la recevra par courriel.'
            : r.data.email_envoye ? ' Le signataire en est informé par courriel.' : ' Le courriel au signataire n’a pas pu être envoyé : prévenez-le par la messagerie.'}`));
        $('#dossier-titre').focus();
        return;
      }
      if (r.status === 422) {
        const err = (r.data?.errors || []).find((x) => x.champ === 'motif');
        if (err) setFieldError(motifGroup, $('#motif-messages'), motif, err.message);
        result.replaceChildren(alertBox('error', 'Décision non enregistrée',
          errorMessages(r.data) || r.data?.detail || ''));
        (err ? motif : $('#decision-titre')).focus();
        return;
      }
      if (r.status === 409) {
        // Another instructeur (or tab) moved the dossier: show its real state and say so.
        await showDossier(current.id, false);
        const detail = statutNames(r.data?.detail || 'Le dossier a changé entre-temps.');
        result.replaceChildren(alertBox('error', 'Décision impossible', `${detail} Le dossier a été rechargé.`));
        result.setAttribute('tabindex', '-1');
        result.focus();
        return;
      }
      result.replaceChildren(alertBox('error', 'Décision non enregistrée', r.data?.detail || 'Le service est momentanément indisponible : réessayez.'));
    } catch (err) {
      if (!(err instanceof SessionEnded)) throw err;
    } finally {
      busy = false;
    }
  });

  $('#acces-renouveler').addEventListener('click', async () => {
    if (busy || !current) return;
    busy = true;
    const result = $('#acces-resultat');
    result.replaceChildren();
    try {
      const r = await api('POST', `/dossiers/${encodeURIComponent(current.id)}/acces`, { action: 'renouveler' });
      if (r.ok) {
        renderDossier(r.data);
        result.replaceChildren(alertBox('success', 'Accès renouvelé', r.data.email_envoye
          ? 'Les anciens liens ne fonctionnent plus ; le nouveau lien a été envoyé au signataire par courriel.'
          : 'Les anciens liens ne fonctionnent plus, mais le courriel au signataire n’a pas pu partir : renouvelez à nouveau dans quelques instants.'));
      } else {
        result.replaceChildren(alertBox('error', 'Accès non renouvelé', problemMessage(r.data, 'Le service est momentanément indisponible : réessayez.')));
      }
      result.setAttribute('tabindex', '-1');
      result.focus();
    } catch (err) {
      if (!(err instanceof SessionEnded)) throw err;
    } finally {
      busy = false;
    }
  });

  const input = $('#message-texte');
  input.addEventListener('input', () => setMessageFieldError(''));
  $('#message-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || !current) return;
    const texte = messageToSend();
    if (!texte) return;
    busy = true;
    $('#message-etat').textContent = 'Envoi du message…';
    try {
      const r = await api('POST', `/dossiers/${encodeURIComponent(current.id)}/messages`, { texte });
      if (r.ok) {
        input.value = '';
        await showDossier(current.id, false);
        $('#message-etat').textContent = r.data.email_envoye
          ? 'Message envoyé : la collectivité en est informée par courriel.'
          : 'Message enregistré, mais le courriel à la collectivité n’a pas pu partir.';
        return;
      }
      messageNotSent(problemMessage(r.data, 'Le message n’a pas été envoyé : réessayez.'));
    } catch (err) {
      if (!(err instanceof SessionEnded)) throw err;
    } finally {
      busy = false;
    }
  });
}

// ---------------------------------------------------------------- start

setupSignIn();
setupList();
setupBulk();
setupDossier();
window.addEventListener('popstate', () => route());
route().catch((e) => {
  console.error(e);
  $('#vue-chargement').replaceChildren(alertBox('error', 'Erreur inattendue', 'Rechargez la page.'));
});
