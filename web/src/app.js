// Formulaire de conventionnement ENT école / GAR : sans framework, sans script en ligne.
// Le jeton du dossier est lu dans l'adresse (?jeton=…) et envoyé en `Authorization: Bearer`.

// Built with common.js in front (web/build.mjs): $, el, api helpers, formatting.

const SAVE_DELAY_MS = 1000;
const POLL_MS = 1500;
const POLL_MAX = 160; // ~4 minutes

const dossier = { id: null, jeton: null, numero: null, correction: null };

/** Whether the collectivité edits the dossier: its draft, or the dossier the académie sent back
 * for correction (then deposited again). */
const editable = (v) => v.statut === 'brouillon' || !!v.correction_demandee;

// ---------------------------------------------------------------- API

async function api(method, path, body) {
  const resp = await apiFetch(method, `/api${path}`, body,
    dossier.jeton ? { authorization: `Bearer ${dossier.jeton}` } : {});
  if (!resp) return { ok: false, status: 0, data: { detail: 'La connexion au serveur a échoué.' } };
  return readAnswer(resp);
}

// ---------------------------------------------------------------- Pages

const VIEWS = ['vue-chargement', 'vue-introuvable', 'formulaire', 'vue-dossier', 'vue-supprime'];
const show = (id) => showView(VIEWS, id);

async function init() {
  setupForm();
  setupDeletion();
  setupMessages();
  setupTermination();
  setupSignatoryChange();
  setupRenewal();
  const m = location.pathname.match(/^\/dossiers\/([^/]+)\/?$/);
  if (!m) {
    addRow();
    show('formulaire');
    return;
  }
  dossier.id = m[1];
  dossier.jeton = new URLSearchParams(location.search).get('jeton');
  if (!dossier.jeton) {
    show('vue-introuvable');
    return;
  }
  const r = await api('GET', `/dossiers/${dossier.id}`);
  if (!r.ok) {
    show('vue-introuvable');
    $('#vue-introuvable h1').focus();
    return;
  }
  dossier.numero = r.data.numero;
  if (!editable(r.data)) {
    showSummary(r.data, false);
    return;
  }
  await restore(r.data);
  showPrivateLink();
  showCorrection(r.data.correction_demandee);
  if (r.data.nature === 'renouvellement' && r.data.convention_initiale) {
    $('#nature-dossier-texte').textContent = `Ce dossier renouvelle la convention n° ${r.data.convention_initiale} : il est prérempli avec ses éléments. Vérifiez-les, confirmez l’adresse du signataire par un code, puis déposez-le.`;
    $('#nature-dossier').hidden = false;
  }
  if (r.data.nature === 'avenant' && r.data.convention_initiale) {
    $('#nature-dossier-texte').textContent = `Avenant n° ${r.data.avenant?.rang || 1} à la convention n° ${r.data.convention_initiale} : les écoles ci-dessous sont celles de la convention. Ajoutez ou retirez des écoles (section 2), confirmez l’adresse du signataire par un code, puis déposez l’avenant.`;
    $('#nature-dossier').hidden = false;
    $('#deposer').textContent = 'Déposer l’avenant';
  }
  show('formulaire');
  setSaved(r.data.modifie_le);
  refreshApercu();
}

// ---------------------------------------------------------------- Form state

function collect() {
  const val = (id) => $(`#${id}`).value.trim();
  const designe = $('#referent-oui').checked ? true : $('#referent-non').checked ? false : null;
  const referent = { prenom_nom: val('referent-prenom-nom'), email: val('referent-email') };
  if (designe !== null) referent.designe = designe;
  return {
    collectivite: { siret: $('#siret').value.replace(/\s+/g, '') },
    signataire: {
      prenom: val('signataire-prenom'),
      nom: val('signataire-nom'),
      qualite: val('signataire-qualite'),
      email: val('signataire-email'),
      habilitation: {
        nature: $('input[name=habilitation-nature]:checked')?.value || '',
        date: $('#habilitation-date').value, // '' while the date is incomplete
        reference: val('habilitation-reference'),
      },
    },
    ecoles: rows().map((r) => ({ uai: $('.ecole__uai', r).value })),
    referent,
    approbation: $('#approbation').checked,
  };
}

async function restore(v) {
  $('#siret').value = formatSiret(v.collectivite?.siret || '');
  onSiretInput(false);
  const s = v.signataire || {};
  $('#signataire-prenom').value = s.prenom || '';
  $('#signataire-nom').value = s.nom || '';
  $('#signataire-qualite').value = s.qualite || '';
  $('#signataire-email').value = s.email || '';
  const h = s.habilitation || {};
  for (const r of $$('input[name=habilitation-nature]')) r.checked = r.value === h.nature;
  $('#habilitation-date').value = h.date || '';
  $('#habilitation-reference').value = h.reference || '';
  showConfirmation(s);
  const ecoles = v.ecoles || [];
  await Promise.all(ecoles.map((e) => {
    const row = addRow();
    if (e.code_insee) return chooseCommune(row, { code_insee: e.code_insee, nom: e.commune }, e.uai);
    if (e.uai) {
      // Not in the directory (any more): kept as saved, the deposit will say what is wrong.
      const select = $('.ecole__uai', row);
      select.replaceChildren(el('option', { value: e.uai, 'data-libelle': e.uai, 'data-nom': e.uai }, e.uai));
      select.disabled = false;
    }
    return null;
  }));
  if (!ecoles.length) addRow();
  refreshDuplicates();
  const rf = v.referent || {};
  $('#referent-oui').checked = rf.designe === true;
  $('#referent-non').checked = rf.designe === false;
  $('#referent-prenom-nom').value = rf.prenom_nom || '';
  $('#referent-email').value = rf.email || '';
  onReferentChange();
  $('#approbation').checked = v.approbation === true;
}

function setupForm() {
  const form = $('#formulaire');
  form.addEventListener('input', (e) => {
    // A commune alone is not part of the draft, nor is the signatory's code.
    if (e.target.matches('.ecole__commune, #code-signataire')) return;
    clearFieldError(e.target);
    scheduleSave(SAVE_DELAY_MS);
  });
  form.addEventListener('change', (e) => {
    if (e.target.matches('select, input[type=checkbox], input[type=radio]')) {
      clearFieldError(e.target);
      saveNow();
    }
  });
  // Enter in a text field must not deposit the dossier.
  form.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target.matches('input[type=text], input[type=email], input[type=date]')) e.preventDefault();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    deposit();
  });
  $('#siret').addEventListener('input', () => onSiretInput(true));
  $('#siret').addEventListener('blur', () => onSiretInput(false, true));
  $('#ajouter-ecole').addEventListener('click', () => {
    const row = addRow();
    $('.ecole__commune', row).focus();
    scheduleSave(SAVE_DELAY_MS);
  });
  for (const r of $$('input[name=referent-designe]')) r.addEventListener('change', onReferentChange);
  setupConfirmation();
  $('#erreurs-liste').addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a) return;
    e.preventDefault();
    const target = document.getElementById(a.hash.slice(1));
    if (target) {
      target.scrollIntoView({ block: 'center' });
      target.focus();
    }
  });
  window.addEventListener('beforeunload', (e) => {
    if (dirty && !saving) {
      saveNow();
    }
    if (dirty || saving) e.preventDefault();
  });
}

// ---------------------------------------------------------------- SIRET

function siretDigits() {
  return $('#siret').value.replace(/\s+/g, '');
}

function luhn(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let n = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) { n *= 2; if (n > 9) n -= 9; }
    sum += n;
  }
  return sum % 10 === 0;
}

function siretValid(d) {
  if (!/^\d{14}$/.test(d)) return false;
  // La Poste: every establishment shares SIREN 356000000; the digit sum is a multiple of 5.
  if (d.startsWith('356000000')) return [...d].reduce((s, c) => s + Number(c), 0) % 5 === 0;
  return luhn(d);
}

let lookedUp = null;

function onSiretInput(typing, leaving = false) {
  const input = $('#siret');
  if (typing) {
    // Reformat as 3 3 3 5 while keeping the caret after the same digit.
    const before = input.value.slice(0, input.selectionStart).replace(/\s+/g, '').length;
    const formatted = formatSiret(input.value);
    if (formatted !== input.value) {
      input.value = formatted;
      let pos = 0;
      for (let seen = 0; pos < formatted.length && seen < before; pos++) {
        if (formatted[pos] !== ' ') seen++;
      }
      input.setSelectionRange(pos, pos);
    }
  }
  const d = siretDigits();
  const group = $('#groupe-siret');
  let state = null;
  let msg = '';
  if (!d) {
    msg = '';
  } else if (!/^\d+$/.test(d)) {
    state = 'error';
    msg = 'Le numéro SIRET ne contient que des chiffres.';
  } else if (d.length < 14) {
    state = leaving ? 'error' : 'info';
    msg = `${plural(d.length, 'chiffre', 'chiffres')} sur 14.`;
    if (leaving) msg = `Le numéro SIRET compte 14 chiffres : ${plural(d.length, 'saisi', 'saisis')}.`;
  } else if (d.length > 14) {
    state = 'error';
    msg = `Le numéro SIRET compte 14 chiffres : ${d.length} saisis.`;
  } else if (!siretValid(d)) {
    state = 'error';
    msg = 'Ce numéro SIRET n’est pas valide : un chiffre est erroné ou deux chiffres sont inversés (la clé de contrôle ne correspond pas).';
  } else {
    state = 'valid';
    msg = 'Numéro SIRET valide.';
  }
  setMessage(group, $('#siret-messages'), state, msg, input);
  if (state === 'valid') {
    dropSummaryItem('siret');
    if (lookedUp !== d) lookup(d);
  } else {
    lookedUp = null;
    $('#collectivite').replaceChildren();
    renderPropositions([]);
  }
}

async function lookup(siret) {
  lookedUp = siret;
  const box = $('#collectivite');
  box.replaceChildren(el('p', { class: 'fr-text--sm' }, 'Recherche de la collectivité…'));
  const r = await api('GET', `/collectivites/${siret}`);
  if (lookedUp !== siret) return;
  if (r.status === 422) {
    // Outside the académie: said as it is, nothing proposed.
    const message = (r.data?.errors || [])[0]?.message || r.data?.detail || '';
    box.replaceChildren(alertBox('error', 'Cette collectivité ne relève pas de l’académie', message, 'h3', 'fr-mt-2w'));
    renderPropositions([]);
    return;
  }
  if (!r.ok) {
    box.replaceChildren(alertBox('warning', 'La collectivité n’a pas pu être recherchée',
      'Votre SIRET est bien pris en compte : vous pouvez continuer, l’académie complétera le nom et l’adresse de la collectivité.', 'h3', 'fr-mt-2w'));
    renderPropositions([]);
    return;
  }
  const c = r.data;
  const parts = [];
  if (c.nom) {
    const lines = [el('p', { class: 'fr-callout__title' }, c.nom)];
    if (c.adresse) lines.push(el('p', { class: 'fr-callout__text' }, c.adresse));
    lines.push(el('p', { class: 'fr-text--sm fr-mb-0' },
      `SIREN ${c.siren}${c.nature ? ` — ${c.nature}` : ''}${c.verifie ? ' — vérifié auprès du répertoire des entreprises' : ''}`));
    parts.push(el('div', { class: 'fr-callout fr-mt-2w fr-mb-0' }, ...lines));
  }
  if (!c.verifie) {
    parts.push(alertBox('info', 'Collectivité non vérifiée pour le moment',
      `Le répertoire des entreprises n’a pas pu confirmer ${c.nom ? 'le nom officiel et l’adresse' : 'le nom et l’adresse'} de la collectivité (SIREN ${c.siren}). Votre SIRET est bien enregistré : vous pouvez continuer, ces informations seront complétées ultérieurement.`, 'h3', 'fr-mt-2w'));
  }
  box.replaceChildren(...parts);
  renderPropositions(c.ecoles_proposees || []);
}

// ---------------------------------------------------------------- Schools

let rowSeq = 0;
let proposees = [];

function rows() {
  return $$('#liste-ecoles > .ecole');
}

function addRow() {
  const row = $('#modele-ecole').content.firstElementChild.cloneNode(true);
  const n = ++rowSeq;
  row.id = `ecole-${n}`;
  const commune = $('.ecole__commune', row);
  commune.id = `ecole-${n}-commune`;
  $('.ecole__label-commune', row).htmlFor = commune.id;
  const liste = $('.combobox__liste', row);
  liste.id = `ecole-${n}-communes`;
  commune.setAttribute('aria-controls', liste.id);
  const msgC = $('.ecole__messages-commune', row);
  msgC.id = `ecole-${n}-commune-messages`;
  commune.setAttribute('aria-describedby', msgC.id);
  const select = $('.ecole__uai', row);
  select.id = `ecole-${n}-uai`;
  $('.ecole__label-uai', row).htmlFor = select.id;
  const msgU = $('.ecole__messages-uai', row);
  msgU.id = `ecole-${n}-uai-messages`;
  select.setAttribute('aria-describedby', msgU.id);
  $('.ecole__legende', row).id = `ecole-${n}-legende`;
  row.setAttribute('aria-labelledby', `ecole-${n}-legende`);
  $('#liste-ecoles').append(row);
  setupCombobox(row);
  select.addEventListener('change', refreshDuplicates);
  $('.ecole__supprimer', row).addEventListener('click', () => removeRow(row));
  renumber();
  return row;
}

function removeRow(row) {
  const all = rows();
  const i = all.indexOf(row);
  const label = $('.ecole__legende', row).textContent;
  row.remove();
  if (!rows().length) addRow();
  renumber();
  refreshDuplicates();
  const rest = rows();
  const next = rest[Math.min(i, rest.length - 1)];
  $('.ecole__commune', next).focus();
  announce(`${label} supprimée.`);
  saveNow();
}

function renumber() {
  rows().forEach((row, i) => {
    const select = $('.ecole__uai', row);
    const opt = select.selectedIndex > 0 ? select.options[select.selectedIndex] : null;
    $('.ecole__legende', row).textContent = `École ${i + 1}`;
    $('.ecole__supprimer-nom', row).textContent = ` : école ${i + 1}${opt ? `, ${opt.dataset.nom}` : ''}`;
  });
}

function chosenUais(except) {
  return new Set(rows().filter((r) => r !== except).map((r) => $('.ecole__uai', r).value).filter(Boolean));
}

function refreshDuplicates() {
  for (const row of rows()) {
    const taken = chosenUais(row);
    for (const opt of $('.ecole__uai', row).options) {
      if (!opt.value) continue;
      const dup = taken.has(opt.value);
      opt.disabled = dup;
      opt.textContent = dup ? `${opt.dataset.libelle} — déjà ajoutée` : opt.dataset.libelle;
    }
  }
  renumber();
  renderPropositions(proposees);
}

function renderPropositions(list) {
  proposees = list;
  const box = $('#propositions');
  const ul = $('#propositions-liste');
  const taken = chosenUais(null);
  const focused = document.activeElement?.dataset?.uai;
  ul.replaceChildren(...list.map((e) => {
    const added = taken.has(e.uai);
    const b = el('button', {
      type: 'button',
      class: `fr-btn fr-btn--sm fr-btn--icon-left ${added ? 'fr-btn--tertiary fr-icon-check-line' : 'fr-btn--secondary fr-icon-add-line'}`,
      'data-uai': e.uai,
    }, added ? `${e.libelle} — ajoutée` : `Ajouter ${e.libelle}`);
    if (added) b.disabled = true;
    b.addEventListener('click', () => addProposed(e));
    return el('li', {}, b);
  }));
  box.hidden = list.length === 0;
  if (focused) ul.querySelector(`[data-uai="${focused}"]`)?.focus();
}

async function addProposed(e) {
  if (chosenUais(null).has(e.uai)) return;
  let row = rows().find((r) => !$('.ecole__uai', r).value && !$('.ecole__commune', r).value.trim());
  if (!row) row = addRow();
  await chooseCommune(row, { code_insee: e.code_insee, nom: e.commune }, e.uai);
  refreshDuplicates();
  announce(`École ajoutée : ${e.libelle}.`);
  $('.ecole__uai', row).focus();
  saveNow();
}

async function chooseCommune(row, commune, uai) {
  const input = $('.ecole__commune', row);
  input.value = commune.nom;
  row.dataset.commune = commune.code_insee;
  row.dataset.communeNom = commune.nom;
  const select = $('.ecole__uai', row);
  select.disabled = true;
  select.replaceChildren(el('option', { value: '' }, 'Chargement des écoles…'));
  const r = await fetch(`/api/communes/${encodeURIComponent(commune.code_insee)}/ecoles`, { headers: { accept: 'application/json' } })
    .then(async (x) => ({ ok: x.ok, data: await x.json() }))
    .catch(() => ({ ok: false, data: [] }));
  if (row.dataset.commune !== commune.code_insee) return;
  const ecoles = r.ok ? r.data : [];
  const opts = [el('option', { value: '' }, ecoles.length ? 'Choisissez l’école' : 'Aucune école connue dans cette commune')];
  for (const e of ecoles) {
    opts.push(el('option', { value: e.uai, 'data-libelle': e.libelle, 'data-nom': e.nom }, e.libelle));
  }
  if (uai && !ecoles.some((e) => e.uai === uai)) {
    opts.push(el('option', { value: uai, 'data-libelle': uai, 'data-nom': uai }, uai));
  }
  select.replaceChildren(...opts);
  select.value = uai || '';
  select.disabled = ecoles.length === 0 && !uai;
  refreshDuplicates();
}

function setupCombobox(row) {
  const input = $('.ecole__commune', row);
  const list = $('.combobox__liste', row);
  let results = [];
  let active = -1;
  let timer = null;
  let seq = 0;

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (i) => {
    active = i;
    $$('[role=option]', list).forEach((li, j) => {
      li.setAttribute('aria-selected', String(j === i));
      li.classList.toggle('combobox__option--active', j === i);
    });
    if (i >= 0) {
      const li = list.children[i];
      input.setAttribute('aria-activedescendant', li.id);
      li.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };
  const pick = (i) => {
    const c = results[i];
    if (!c) return;
    close();
    clearFieldError(input);
    announce(`Commune choisie : ${c.nom}. Choisissez maintenant l’école.`);
    chooseCommune(row, c).then(() => {
      $('.ecole__uai', row).focus();
    });
  };
  const search = async () => {
    const q = input.value.trim();
    const mine = ++seq;
    if (q.length < 2) { close(); return; }
    // A 422 says the communes found are outside the académie (its message is shown instead).
    let outside = '';
    const r = await fetch(`/api/communes?q=${encodeURIComponent(q)}`, { headers: { accept: 'application/json' } })
      .then(async (x) => {
        if (x.ok) return x.json();
        if (x.status === 422) outside = ((await x.json()).errors || [])[0]?.message || '';
        return [];
      })
      .catch(() => []);
    if (mine !== seq || document.activeElement !== input) return;
    results = r.slice(0, 10);
    list.replaceChildren(...results.map((c, i) => {
      const cp = (c.codes_postaux || []).join(', ');
      const li = el('li', { role: 'option', id: `${list.id}-${i}`, 'aria-selected': 'false', class: 'combobox__option' },
        c.nom, el('span', { class: 'combobox__detail' }, cp ? ` — ${cp}` : ` — ${c.code_insee}`));
      li.addEventListener('mousedown', (e) => e.preventDefault());
      li.addEventListener('click', () => pick(i));
      return li;
    }));
    if (!results.length) {
      list.replaceChildren(el('li', { class: 'combobox__vide', role: 'option', 'aria-disabled': 'true', id: `${list.id}-vide`, 'aria-selected': 'false' }, outside || 'Aucune commune trouvée'));
    }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
    announce(results.length ? `${plural(results.length, 'commune proposée', 'communes proposées')}, flèches haut et bas pour choisir.` : (outside || 'Aucune commune trouvée.'));
  };

  input.addEventListener('input', () => {
    if (row.dataset.commune && input.value.trim() !== row.dataset.communeNom) {
      // The commune changed: the school chosen for the old one no longer holds.
      delete row.dataset.commune;
      const select = $('.ecole__uai', row);
      const had = select.value;
      select.replaceChildren(el('option', { value: '' }, 'Choisissez d’abord la commune'));
      select.disabled = true;
      refreshDuplicates();
      if (had) saveNow();
    }
    clearTimeout(timer);
    timer = setTimeout(search, 200);
  });
  input.addEventListener('keydown', (e) => {
    const open = !list.hidden && results.length > 0;
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (!open) { search(); return; }
      highlight(Math.min(active + 1, results.length - 1));
    } else if (e.key === 'ArrowUp') {
      if (!open) return;
      e.preventDefault();
      highlight(Math.max(active - 1, 0));
    } else if (e.key === 'Enter') {
      if (open && active >= 0) { e.preventDefault(); pick(active); }
    } else if (e.key === 'Escape') {
      if (!list.hidden) { e.preventDefault(); close(); }
    } else if (e.key === 'Tab') {
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
}

// ---------------------------------------------------------------- Référent

function onReferentChange() {
  const oui = $('#referent-oui').checked;
  $('#referent-champs').hidden = !oui;
  for (const id of ['referent-prenom-nom', 'referent-email']) {
    const i = $(`#${id}`);
    i.required = oui;
    if (!oui) clearFieldError(i);
  }
}

// ---------------------------------------------------------------- Signatory's address

const HABILITATIONS = { deliberation: 'délibération', delegation: 'délégation' };
const RESEND_MS = 60_000; // the server's least delay between two codes of a dossier

/** What the page knows of the code: the view's `email_confirme_le` and `code_en_attente`, when
 * a new code may be asked (`nextSendAt`, ms), and whether a code call is under way (`busy`;
 * `epoch` counts them, so that an autosave answer older than one does not undo it). */
const confirmation = { confirmed: null, pending: null, nextSendAt: 0, busy: false, epoch: 0, timer: null };

function setupConfirmation() {
  $('#code-envoyer').addEventListener('click', sendCode);
  $('#code-renvoyer').addEventListener('click', sendCode);
  $('#code-valider').addEventListener('click', checkCode);
  const input = $('#code-signataire');
  input.addEventListener('input', () => setCodeError(''));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); checkCode(); }
  });
}

/** The confirmation state of a dossier view's `signataire`, shown. */
function showConfirmation(s) {
  confirmation.confirmed = s?.email_confirme_le || null;
  confirmation.pending = s?.code_en_attente || null;
  const sent = Date.parse(confirmation.pending?.envoye_le || '');
  if (sent) confirmation.nextSendAt = Math.max(confirmation.nextSendAt, sent + RESEND_MS);
  renderConfirmation();
}

function renderConfirmation() {
  const { confirmed, pending } = confirmation;
  $('#confirmation-envoi').hidden = Boolean(confirmed || pending);
  $('#confirmation-saisie').hidden = Boolean(confirmed || !pending);
  let key = '';
  let content = [];
  if (confirmed) {
    key = `ok ${confirmed}`;
    content = [el('div', { class: 'fr-alert fr-alert--success fr-alert--sm' },
      el('p', {}, `Adresse confirmée le ${dateFr(confirmed)}.`))];
  } else if (pending) {
    key = `code ${pending.envoye_a} ${pending.expire_le}`;
    content = [el('p', { class: 'fr-mb-2w' }, `Code envoyé à ${pending.envoye_a}, valable jusqu’au ${dateFr(pending.expire_le)}. `
      + 'Demandez-le au signataire, puis saisissez-le ci-dessous.')];
  }
  // Replaced only when it says something new: a live region reads every replacement.
  const status = $('#confirmation-etat');
  if (status.dataset.key !== key) {
    status.dataset.key = key;
    status.replaceChildren(...content);
  }
  tickResend();
}

/** « 45 s » (a minute or less), « 3 min 05 s », « 2 h 10 min ». */
function waitText(ms) {
  const s = Math.ceil(ms / 1000);
  if (s <= 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** The send buttons wait until a new code may be asked, with the time left shown. */
function tickResend() {
  clearTimeout(confirmation.timer);
  const left = confirmation.nextSendAt - Date.now();
  const waiting = left > 0 && !confirmation.confirmed;
  // Not disabled while a call is under way (the focus would be lost): the handlers wait.
  for (const b of [$('#code-envoyer'), $('#code-renvoyer')]) b.disabled = waiting;
  const delai = $('#code-delai');
  delai.hidden = !waiting;
  delai.textContent = waiting ? `Vous pourrez demander un nouveau code dans ${waitText(left)}.` : '';
  if (waiting) confirmation.timer = setTimeout(tickResend, Math.min(1000, left));
}

function setCodeError(text) {
  setFieldError($('#groupe-code-signataire'), $('#code-signataire-messages'), $('#code-signataire'), text);
}

function setSendError(text) {
  const m = $('#code-envoi-messages');
  m.replaceChildren(...(text ? [el('p', { class: 'fr-message fr-message--error', id: `${m.id}-texte` }, text)] : []));
}

/** Runs `call` (a code request) once the draft on the page is saved; false when it could not be. */
async function withSavedDraft(call) {
  confirmation.busy = true;
  confirmation.epoch++;
  tickResend();
  try {
    if (!dossier.id || dirty || saving) {
      if (!(await saveNow()) || !dossier.id) {
        setSendError('Le brouillon n’a pas pu être enregistré : réessayez dans quelques instants.');
        return false;
      }
    }
    clearTimeout(saveTimer);
    return await call();
  } finally {
    confirmation.busy = false;
    tickResend();
  }
}

async function sendCode() {
  if (confirmation.busy) return;
  setSendError('');
  setCodeError('');
  $('#code-delai').hidden = true;
  await withSavedDraft(async () => {
    const r = await api('POST', `/dossiers/${dossier.id}/signataire/code`, {});
    if (r.status === 202) {
      confirmation.confirmed = null;
      confirmation.pending = { envoye_a: r.data.envoye_a, expire_le: r.data.expire_le };
      confirmation.nextSendAt = Date.now() + RESEND_MS;
      renderConfirmation();
      const input = $('#code-signataire');
      input.value = '';
      input.focus();
      return true;
    }
    if (r.status === 422) {
      // The draft holds no valid address: nothing can be pending or confirmed for it.
      confirmation.confirmed = null;
      confirmation.pending = null;
      renderConfirmation();
      showFieldErrors(r.data?.errors || []);
      setSendError(`Le code n’a pas été envoyé : ${problemMessage(r.data, 'l’adresse du signataire n’est pas valide.')}`);
      $('#signataire-email').focus();
    } else if (r.status === 429) {
      const wait = Number(r.headers?.get('retry-after'));
      confirmation.nextSendAt = Date.now() + (Number.isFinite(wait) && wait > 0 ? wait : 60) * 1000;
      setSendError(problemMessage(r.data, 'Trop de codes demandés : patientez avant d’en demander un autre.'));
      tickResend();
      $('#confirmation-titre').focus(); // the button pressed now waits, disabled
    } else if (r.status === 409) {
      await reloadIfDeposited(r);
    } else {
      setSendError(`Le code n’a pas été envoyé : ${r.data?.detail || 'le service est momentanément indisponible.'} Réessayez dans quelques instants.`);
    }
    return false;
  });
}

async function checkCode() {
  if (confirmation.busy) return;
  const input = $('#code-signataire');
  const code = input.value.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(code)) {
    setCodeError('Le code est fait de 6 chiffres (ex. : 482913).');
    input.focus();
    return;
  }
  setSendError('');
  await withSavedDraft(async () => {
    const r = await api('POST', `/dossiers/${dossier.id}/signataire/confirmation`, { code });
    if (r.ok) {
      input.value = '';
      showConfirmation(r.data.signataire);
      // What the deposit said of the address is settled.
      clearFieldError($('#signataire-email'));
      $('#confirmation-titre').focus();
      return true;
    }
    if (r.status === 409) {
      if (await reloadIfDeposited(r)) return false;
    }
    setCodeError(problemMessage(r.data, 'Le code n’a pas pu être vérifié : réessayez dans quelques instants.'));
    input.focus();
    input.select();
    return false;
  });
}

/** A 409 on a code call: the dossier may have been deposited elsewhere (its summary is then
 * shown, true); otherwise the answer's detail is shown (false). */
async function reloadIfDeposited(r) {
  const v = await api('GET', `/dossiers/${dossier.id}`);
  if (v.ok && !editable(v.data)) { showSummary(v.data, false); return true; }
  setSendError(r.data?.detail || 'Le dossier a changé entre-temps : rechargez la page.');
  return false;
}

// ---------------------------------------------------------------- Autosave

let saveTimer = null;
let saving = null; // the running save (a promise)
let dirty = false;
const RETRY_FIRST_MS = 8000;
let retryDelay = RETRY_FIRST_MS;

function scheduleSave(delay) {
  dirty = true;
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveNow, delay);
}

/// Saves now (or right after the running save); resolves true when what the page holds is saved.
function saveNow() {
  dirty = true;
  clearTimeout(saveTimer);
  if (saving) {
    return saving.then(() => (dirty ? saveNow() : true));
  }
  saving = doSave().finally(() => { saving = null; });
  return saving.then((ok) => (ok && dirty ? saveNow() : ok));
}

async function doSave() {
  if (deleted) return true;
  dirty = false;
  const body = collect();
  setSaving();
  const epoch = confirmation.epoch;
  let r;
  if (!dossier.id) {
    r = await api('POST', '/dossiers', body);
    if (r.ok) {
      dossier.id = r.data.id;
      dossier.jeton = r.data.jeton;
      dossier.numero = r.data.numero;
      history.replaceState(null, '', `/dossiers/${dossier.id}?jeton=${encodeURIComponent(dossier.jeton)}`);
      showPrivateLink();
    }
  } else {
    r = await api('PATCH', `/dossiers/${dossier.id}`, body);
  }
  if (r.ok) {
    setSaved(r.data?.modifie_le);
    // The view says whether the address saved is still the confirmed one (another address voids
    // the confirmation and the pending code), unless a code was sent or given back meanwhile.
    if (r.data?.signataire && epoch === confirmation.epoch && !confirmation.busy) showConfirmation(r.data.signataire);
    refreshApercu();
    return true;
  }
  if (r.status === 409) {
    const v = await api('GET', `/dossiers/${dossier.id}`);
    if (v.ok && !editable(v.data)) { showSummary(v.data, false); return true; }
  }
  dirty = true;
  setSaveError(r);
  return false;
}

function setSaving() {
  $('#autosave').classList.remove('autosave--erreur');
}

function hhmm(iso) {
  const d = iso ? new Date(iso) : new Date();
  return d.toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' });
}

function setSaved(iso) {
  retryDelay = RETRY_FIRST_MS;
  $('#autosave').classList.remove('autosave--erreur');
  $('#autosave-erreur').replaceChildren();
  $('#autosave-etat').textContent = dossier.correction
    ? `Corrections enregistrées à ${hhmm(iso)} ; déposez à nouveau le dossier pour les transmettre.`
    : `Brouillon enregistré à ${hhmm(iso)}.`;
}

function setSaveError(r) {
  $('#autosave').classList.add('autosave--erreur');
  $('#autosave-etat').textContent = '';
  const detail = (r.status === 422 && errorMessages(r.data))
    || (r.status === 0 ? 'Le serveur ne répond pas : vérifiez votre connexion.' : 'Le service est momentanément indisponible.');
  const retry = el('button', { type: 'button', class: 'fr-btn fr-btn--sm fr-btn--secondary', id: 'autosave-reessayer' }, 'Réessayer');
  retry.addEventListener('click', async () => {
    const ok = await saveNow();
    if (ok) $('#autosave-etat').focus?.();
  });
  const transient = r.status === 0 || r.status >= 500;
  $('#autosave-erreur').replaceChildren(
    el('p', { class: 'fr-message fr-message--error' },
      `L’enregistrement automatique a échoué. ${detail} Vos saisies sont conservées sur cette page${transient ? ' ; nouvel essai automatique dans quelques secondes' : ''}.`),
    retry,
  );
  if (transient) {
    // A passing outage: try again by itself, less and less often.
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveNow, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 60000);
  }
}

/** The académie's request for correction, above the form; the deposit becomes a new deposit
 * and the draft cannot be deleted (the dossier is deposited). */
function showCorrection(c) {
  dossier.correction = c || null;
  $('#correction').hidden = !c;
  if (!c) return;
  $('#correction-motif').textContent = `Demande du ${dateFr(c.le)} : ${c.motif}`;
  $('#deposer').textContent = 'Déposer à nouveau le dossier';
  $('#suppression').hidden = true;
  $('#autosave-etat').textContent = 'Vos corrections sont enregistrées automatiquement ; elles sont transmises à l’académie au nouveau dépôt.';
}

function showPrivateLink() {
  if (!dossier.id) return;
  const url = `${location.origin}/dossiers/${dossier.id}?jeton=${encodeURIComponent(dossier.jeton)}`;
  const a = $('#lien-prive-url');
  a.href = url;
  a.textContent = url;
  $('#lien-prive-numero').textContent = dossier.numero ? `n° ${dossier.numero}` : '';
  $('#lien-prive').hidden = false;
  $('#suppression-numero').textContent = dossier.numero ? `n° ${dossier.numero}` : '';
  $('#suppression').hidden = !!dossier.correction;
}

// ---------------------------------------------------------------- Draft deletion

let deleted = false;

function setupDeletion() {
  const ask = $('#supprimer');
  const box = $('#suppression-confirmation');
  const close = (focus) => {
    box.hidden = true;
    ask.setAttribute('aria-expanded', 'false');
    $('#suppression-erreur').replaceChildren();
    if (focus) ask.focus();
  };
  ask.addEventListener('click', () => {
    box.hidden = false;
    ask.setAttribute('aria-expanded', 'true');
    $('#suppression-question').focus();
  });
  $('#supprimer-annuler').addEventListener('click', () => close(true));
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') { e.preventDefault(); close(true); }
  });
  $('#supprimer-confirmer').addEventListener('click', deleteDraft);
}

async function deleteDraft() {
  const button = $('#supprimer-confirmer');
  if (button.disabled) return;
  button.disabled = true;
  // No autosave may follow (or race) the deletion.
  clearTimeout(saveTimer);
  if (saving) await saving.catch(() => null);
  const r = await api('DELETE', `/dossiers/${dossier.id}`);
  button.disabled = false;
  if (r.status === 204) {
    deleted = true;
    dirty = false;
    clearTimeout(saveTimer);
    clearTimeout(apercuTimer);
    $('#supprime-numero').textContent = dossier.numero ? `n° ${dossier.numero}` : '';
    setTitle('Brouillon supprimé');
    show('vue-supprime');
    window.scrollTo(0, 0);
    $('#supprime-titre').focus();
    return;
  }
  if (r.status === 409) {
    const v = await api('GET', `/dossiers/${dossier.id}`);
    if (v.ok && !editable(v.data)) { showSummary(v.data, false); return; }
  }
  $('#suppression-erreur').replaceChildren(alertBox('error', 'Le brouillon n’a pas été supprimé',
    `${r.data?.detail || 'Le service est momentanément indisponible.'} Réessayez dans quelques instants.`, 'h3', 'fr-mt-2w'));
}

// ---------------------------------------------------------------- Messagerie

function renderMessages(list, labels) {
  $('#messages-vide').hidden = list.length > 0;
  $('#messages-liste').replaceChildren(...list.map((m) => messageItem(m, labels)));
}

const COLLECTIVITE_LABELS = {
  instructeur: () => 'L’académie',
  collectivite: (m) => `Vous (${m.nom})`,
};

let shownMessages = 0;

async function loadMessages() {
  const r = await api('GET', `/dossiers/${dossier.id}/messages`);
  if (!r.ok) {
    $('#messages-alerte').replaceChildren(alertBox('error', 'Les messages n’ont pas pu être chargés',
      'Le service est momentanément indisponible : rechargez la page dans quelques instants.', 'h3', 'fr-mt-2w'));
    return;
  }
  $('#messages-alerte').replaceChildren();
  const list = r.data.messages || [];
  shownMessages = list.length;
  renderMessages(list, COLLECTIVITE_LABELS);
}

/** A message from the académie shows up without reloading: when the tab comes back into view,
 * and every minute while it is in view. A failed refresh says nothing (the next one retries). */
async function refreshMessages() {
  if ($('#vue-dossier').hidden || document.visibilityState !== 'visible' || !dossier.id) return;
  const r = await api('GET', `/dossiers/${dossier.id}/messages`);
  const list = r.ok ? r.data.messages || [] : null;
  // Messages are only ever added: a shorter list is an answer older than a message just sent.
  if (!list || list.length <= shownMessages) return;
  const before = shownMessages;
  shownMessages = list.length;
  renderMessages(list, COLLECTIVITE_LABELS);
  if (list.length > before && list[list.length - 1].auteur === 'instructeur') announce('Nouveau message de l’académie.');
}

function setupMessages() {
  refreshWhileVisible(refreshMessages);
  const form = $('#message-form');
  const input = $('#message-texte');
  let sending = false;
  input.addEventListener('input', () => {
    if ($('#groupe-message').classList.contains('fr-input-group--error')) setMessageFieldError('');
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (sending) return;
    const texte = messageToSend();
    if (!texte) return;
    sending = true;
    $('#message-envoyer').disabled = true;
    $('#message-etat').textContent = 'Envoi du message…';
    const r = await api('POST', `/dossiers/${dossier.id}/messages`, { texte });
    sending = false;
    $('#message-envoyer').disabled = false;
    if (r.ok) {
      input.value = '';
      await loadMessages();
      $('#message-etat').textContent = 'Message envoyé à l’académie.';
      return;
    }
    messageNotSent(problemMessage(r.data, 'Le message n’a pas été envoyé : réessayez dans quelques instants.'));
  });
}

// ---------------------------------------------------------------- Convention preview

let apercuTimer = null;

function refreshApercu() {
  clearTimeout(apercuTimer);
  apercuTimer = setTimeout(loadApercu, 300);
}

async function loadApercu() {
  if (!dossier.id) return;
  const box = $('#apercu');
  box.setAttribute('aria-busy', 'true');
  const r = await api('GET', `/dossiers/${dossier.id}/apercu`);
  box.removeAttribute('aria-busy');
  if (!r.ok) return;
  const top = box.scrollTop;
  box.replaceChildren(...r.data.blocs.map(renderBloc));
  box.scrollTop = top;
}

function rich(text) {
  return text.split('**').map((part, i) => (i % 2 ? el('strong', {}, part) : document.createTextNode(part)));
}

function renderBloc(b) {
  switch (b.type) {
    case 'titre': return el('h3', { class: 'apercu__titre' }, b.texte);
    case 'intertitre': return el('h4', { class: 'apercu__intertitre' }, b.texte);
    case 'liste': return el('ul', {}, ...b.items.map((t) => el('li', {}, ...rich(t))));
    case 'signature': return el('div', { class: 'apercu__signature' },
      el('p', {}, el('strong', {}, b.texte)), el('p', {}, el('em', {}, b.approbation)));
    case 'ecoles': {
      if (!b.ecoles.length) return el('p', {}, '[aucune école choisie]');
      return el('table', { class: 'apercu__ecoles' },
        el('caption', { class: 'fr-sr-only' }, 'Écoles du périmètre de la collectivité'),
        el('thead', {}, el('tr', {}, ...['UAI', 'École', 'Commune'].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...b.ecoles.map((e) => el('tr', {}, el('td', {}, e.uai), el('td', {}, e.nom), el('td', {}, e.commune)))));
    }
    default: return el('p', {}, ...rich(b.texte || ''));
  }
}

// ---------------------------------------------------------------- Errors

const FIELDS = {
  'collectivite.siret': 'siret',
  'signataire.prenom': 'signataire-prenom',
  'signataire.nom': 'signataire-nom',
  'signataire.qualite': 'signataire-qualite',
  'signataire.email': 'signataire-email',
  'signataire.habilitation': 'habilitation-deliberation',
  'signataire.habilitation.nature': 'habilitation-deliberation',
  'signataire.habilitation.date': 'habilitation-date',
  'signataire.habilitation.reference': 'habilitation-reference',
  'referent.designe': 'referent-oui',
  'referent.prenom_nom': 'referent-prenom-nom',
  'referent.email': 'referent-email',
  approbation: 'approbation',
  ecoles: 'ajouter-ecole',
};

function fieldFor(champ) {
  const m = champ.match(/^ecoles\[(\d+)\]/);
  if (m) {
    const row = rows()[Number(m[1])];
    if (!row) return null;
    const select = $('.ecole__uai', row);
    return select.disabled ? $('.ecole__commune', row) : select;
  }
  const id = FIELDS[champ] || FIELDS[champ.split('.').slice(0, 2).join('.')] || FIELDS[champ.split('.')[0]];
  return id ? document.getElementById(id) : null;
}

function groupOf(field) {
  if (field.type === 'radio') {
    const group = field.closest('fieldset');
    return { group, messages: $(':scope > .fr-messages-group', group) };
  }
  if (field.id === 'ajouter-ecole') return { group: $('#section-2'), messages: $('#section-2-messages') };
  const group = field.closest('.fr-input-group, .fr-select-group, .fr-checkbox-group');
  return { group, messages: group && $('.fr-messages-group', group) };
}

function clearFieldError(field) {
  if (field.id === 'siret') return;
  // A radio group's errors are on its first radio (FIELDS).
  const target = field.type === 'radio' ? $(`input[name="${field.name}"]`) : field;
  const { group, messages } = groupOf(target);
  if (group && [...group.classList].some((c) => c.endsWith('--error'))) setMessage(group, messages, null, '', field.matches('input, select') ? field : null);
  // The summary keeps only what is still to fix.
  const fixed = target.closest('.ecole') ? $$('.ecole__commune, .ecole__uai', target.closest('.ecole')) : [target];
  for (const f of fixed) dropSummaryItem(f.id);
}

function dropSummaryItem(id) {
  $(`#erreurs-liste li[data-champ-id="${id}"]`)?.remove();
  if (!$('#erreurs').hidden && !$('#erreurs-liste').childElementCount) $('#erreurs').hidden = true;
}

function clearErrors() {
  for (const g of $$('[class*="--error"]', $('#formulaire'))) {
    for (const c of [...g.classList]) if (c.endsWith('--error') && !c.startsWith('fr-alert')) g.classList.remove(c);
  }
  for (const m of $$('.fr-messages-group', $('#formulaire'))) {
    if (m.id !== 'siret-messages') m.replaceChildren();
  }
  for (const i of $$('[aria-invalid]', $('#formulaire'))) if (i.id !== 'siret') i.removeAttribute('aria-invalid');
  $('#erreurs').hidden = true;
}

/** Each server field error next to its field; returns the summary's items (links to the fields). */
function showFieldErrors(errors) {
  const items = [];
  for (const e of errors) {
    const field = fieldFor(e.champ);
    if (field) {
      const { group, messages } = groupOf(field);
      const input = field.matches('input:not([type=radio]), select') ? field : null;
      if (messages?.childElementCount) {
        messages.append(el('p', { class: 'fr-message fr-message--error' }, e.message));
      } else {
        setMessage(group, messages, 'error', e.message, input);
      }
    }
    const label = labelFor(e.champ);
    items.push(el('li', field ? { 'data-champ-id': field.id } : {}, field
      ? el('a', { href: `#${field.id}` }, `${label} : ${e.message}`)
      : `${label} : ${e.message}`));
  }
  return items;
}

function showErrors(detail, errors) {
  const items = showFieldErrors(errors);
  $('#erreurs-detail').textContent = detail || '';
  $('#erreurs-liste').replaceChildren(...items);
  const box = $('#erreurs');
  box.hidden = false;
  box.scrollIntoView({ block: 'start' });
  box.focus();
}

function labelFor(champ) {
  const m = champ.match(/^ecoles\[(\d+)\]/);
  if (m) return `École ${Number(m[1]) + 1}`;
  return {
    'collectivite.siret': 'SIRET',
    'signataire.prenom': 'Prénom du signataire',
    'signataire.nom': 'Nom du signataire',
    'signataire.qualite': 'Qualité du signataire',
    'signataire.email': 'Adresse électronique du signataire',
    'signataire.habilitation': 'Acte qui habilite le signataire',
    'signataire.habilitation.nature': 'Nature de l’acte qui habilite le signataire',
    'signataire.habilitation.date': 'Date de l’acte qui habilite le signataire',
    'signataire.habilitation.reference': 'Référence de l’acte qui habilite le signataire',
    'referent.designe': 'Référent collectivité',
    'referent.prenom_nom': 'Prénom et NOM du référent',
    'referent.email': 'Adresse électronique du référent',
    approbation: 'Approbation de la convention',
    ecoles: 'Écoles',
  }[champ] || champ;
}

// ---------------------------------------------------------------- Deposit

let depositing = false;

async function deposit() {
  if (depositing) return;
  depositing = true;
  const button = $('#deposer');
  button.disabled = true;
  button.textContent = 'Dépôt en cours…';
  try {
    clearErrors();
    if (!dossier.id) await saveNow();
    else if (saving) await saving;
    if (!dossier.id) {
      showErrors('Le brouillon n’a pas pu être créé : réessayez dans quelques instants.', []);
      return;
    }
    clearTimeout(saveTimer);
    const r = await api('POST', `/dossiers/${dossier.id}/depot`, collect());
    if (r.ok) {
      dirty = false;
      showSummary(r.data, true);
      return;
    }
    if (r.status === 422) {
      showErrors(`${r.data?.detail || ''} Corrigez-les puis déposez à nouveau le dossier.`, r.data?.errors || []);
    } else if (r.status === 409) {
      const v = await api('GET', `/dossiers/${dossier.id}`);
      if (v.ok && !editable(v.data)) showSummary(v.data, false);
      else showErrors(r.data?.detail || 'Le dossier a changé entre-temps.', []);
    } else {
      showErrors(`${r.data?.detail || 'Le dépôt a échoué.'} Rien n’a été perdu : réessayez.`, []);
    }
  } finally {
    depositing = false;
    button.disabled = false;
    button.textContent = dossier.correction ? 'Déposer à nouveau le dossier' : 'Déposer le dossier';
  }
}

// ---------------------------------------------------------------- Summary

let polls = 0;

function showSummary(v, merci) {
  dossier.numero = v.numero;
  for (const n of $$('.js-numero')) n.textContent = `n° ${v.numero}`;
  $('#merci').hidden = !merci;
  $('#dossier-titre').hidden = merci;
  setTitle(`${merci ? 'Merci ! — ' : ''}Dossier n° ${v.numero}`);
  $('#dossier-statut').textContent = STATUTS[v.statut] || v.statut;
  const c = v.collectivite || {};
  $('#resume-collectivite').textContent = `${c.nom || `Collectivité de SIREN ${c.siren}`} — SIRET ${formatSiret(c.siret || '')}${c.adresse ? ` — ${c.adresse}` : ''}`;
  const s = v.signataire || {};
  const h = s.habilitation;
  $('#resume-signataire').textContent = `${s.prenom} ${(s.nom || '').toUpperCase()}, ${s.qualite} — ${s.email}`
    + `${s.email_confirme_le ? ` (adresse confirmée le ${dateFr(s.email_confirme_le)})` : ''}`
    + `${h ? ` — ${HABILITATIONS[h.nature] || h.nature} n° ${h.reference} du ${dateFr(h.date, false)}` : ''}`;
  const fermees = new Set((v.ecoles_fermees || []).map((f) => f.uai));
  $('#resume-ecoles').replaceChildren(...(v.ecoles || []).map((e) => {
    const gar = fermees.has(e.uai)
      ? 'fermée à l’annuaire de l’Éducation nationale : modifiez les écoles de la convention (avenant)'
      : garLabel(e, v.accepte_le);
    return el('li', {}, `${e.nom}, ${e.commune} (${e.uai})`, ...(gar ? [' — ', el('span', { class: 'gar' }, gar)] : []));
  }));
  const rf = v.referent || {};
  $('#resume-referent').textContent = rf.designe ? `${rf.prenom_nom} — ${rf.email}` : 'Aucun référent désigné';
  $('#resume-depot').textContent = v.depose_le
    ? `Déposé et signé le ${dateFr(v.depose_le)}${v.signature ? ` (texte de la convention version ${v.signature.version_texte})` : ''}.`
    : '';
  $('#resume-echeance').textContent = termLabel(v) || 'Fixée au dépôt.';
  // A convention in force can be terminated by the collectivité, once.
  $('#resiliation').hidden = !(v.statut === 'accepte' && !v.resiliation);
  showSignatoryChange(v);
  // An avenant: from a convention in force (not from an avenant).
  $('#modifier-ecoles').hidden = !(v.statut === 'accepte' && v.nature !== 'avenant' && !v.resiliation);
  const current = v.perimetre_actuel || [];
  $('#perimetre-actuel').textContent = (v.avenants || []).length
    ? `Écoles de la convention après ${v.avenants.length === 1 ? 'l’avenant' : `${v.avenants.length} avenants`} : ${current.map((e) => `${e.nom} (${e.uai})`).join(', ')}.`
    : '';
  // Renewal: offered when the term is near (six months) or once terminated.
  const fin = v.echeance?.fin_le ? Date.parse(v.echeance.fin_le) : NaN;
  const near = v.statut === 'accepte' && fin - Date.now() < 183 * 86400e3;
  $('#renouvellement').hidden = !(near || v.statut === 'resilie');
  showAttestation(v);
  loadMessages();
  show('vue-dossier');
  (merci ? $('#merci-titre') : $('#dossier-titre')).focus();
  window.scrollTo(0, 0);
  if (!v.convention) poll();
}

function showAttestation(v) {
  if (!v.convention) return;
  const jeton = encodeURIComponent(dossier.jeton);
  const a = $('#telecharger');
  a.href = `/api/dossiers/${v.id}/convention?jeton=${jeton}`;
  const ko = (c) => (c.taille ? ` — ${Math.round(c.taille / 1024)} Ko` : '');
  const current = v.convention;
  const what = current.nature === 'contresignature' ? 'Convention contresignée par l’académie' : 'Convention signée';
  $('#attestation-detail').textContent = `${what}, PDF${ko(current)}. Code de vérification : ${current.code_verification}.`;
  // Once the académie has countersigned, the deposit's version stays downloadable beside it.
  const versions = v.conventions || [];
  $('#attestation-versions').hidden = versions.length < 2;
  $('#attestation-versions-liste').replaceChildren(...[...versions].reverse().map((c) => el('li', {},
    el('a', { href: `/api/dossiers/${v.id}/convention?version=${c.version}&jeton=${jeton}` }, conventionLabel(c)),
    ` — éditée le ${dateFr(c.genere_le)}${ko(c)}, code de vérification ${c.code_verification}`)));
  $('#attestation-attente').hidden = true;
  $('#attestation-prete').hidden = false;
}

async function poll() {
  if (++polls > POLL_MAX) {
    $('#attestation-attente').textContent = 'L’édition de la convention prend plus de temps que prévu. Elle vous sera envoyée par courriel ; vous pouvez aussi revenir plus tard sur ce lien.';
    return;
  }
  await new Promise((r) => setTimeout(r, POLL_MS));
  const r = await api('GET', `/dossiers/${dossier.id}`);
  if (r.ok && r.data.convention) {
    showAttestation(r.data);
    $('#dossier-statut').textContent = STATUTS[r.data.statut] || r.data.statut;
    announce('La convention est prête : le bouton « Télécharger l’attestation » est disponible.');
    return;
  }
  poll();
}

// ---------------------------------------------------------------- Verification page

/** Where the convention stands, as the verification answer says: « déposée le …, en attente
 * d’instruction par l’académie. » until the académie accepts it. */
function verificationState(v) {
  const depose = v.depose_le ? `déposée le ${dateFr(v.depose_le)}` : 'déposée';
  switch (v.statut) {
    case 'accepte': return v.accepte_le ? `acceptée par l’académie le ${dateFr(v.accepte_le)}.` : 'acceptée par l’académie.';
    case 'refuse': return `${depose}, refusée par l’académie.`;
    case 'sans_suite': return `${depose}, classée sans suite par l’académie.`;
    case 'en_construction':
    case 'en_instruction':
    case undefined:
    case null:
      return `${depose}, en attente d’instruction par l’académie.`;
    default: return `${depose} ; statut du dossier : ${STATUTS[v.statut] || v.statut}.`;
  }
}

async function initVerification() {
  const form = $('#verification-form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const code = $('#code').value.trim().toUpperCase();
    if (code) location.assign(`/verification/${encodeURIComponent(code)}`);
  });
  const m = location.pathname.match(/^\/verification\/([^/]+)$/);
  if (!m) return;
  const code = safeDecode(m[1]); // a malformed escape: checked as typed, unknown
  $('#code').value = code;
  const box = $('#verification-resultat');
  box.replaceChildren(el('p', {}, 'Vérification en cours…'));
  const r = await api('GET', `/conventions/verification/${encodeURIComponent(code)}`);
  if (!r.ok) {
    box.replaceChildren(alertBox('error', 'Aucune convention ne correspond à ce code',
      r.status === 404 ? `Vérifiez le code saisi (${code}) : il figure sous la signature de la convention.` : 'Le service est momentanément indisponible : réessayez dans quelques instants.', 'h2', 'fr-mt-2w'));
    return;
  }
  const v = r.data;
  const etat = verificationState(v);
  box.replaceChildren(alertBox('success', 'Convention authentique',
    `La convention ${v.numero} a bien été signée sur ce service : ${etat}`, 'h2', 'fr-mt-2w'));
  $('#verif-etat').textContent = etat.charAt(0).toUpperCase() + etat.slice(1);
  const c = v.collectivite || {};
  $('#verif-numero').textContent = `${v.numero}${v.version_texte ? ` — texte version ${v.version_texte}` : ''}`;
  $('#verif-collectivite').textContent = `${c.nom || 'Collectivité'} — SIRET ${formatSiret(c.siret || '')}`;
  $('#verif-date').textContent = v.depose_le ? dateFr(v.depose_le) : '';
  $('#verif-ecoles').textContent = (v.ecoles || []).join(', ');
  $('#verif-sha256').textContent = v.sha256 || '';
  // The seal's signer, as a PDF reader names it, and where its certificate is (older answers
  // lack `sceau`: the page keeps its generic name and link).
  if (v.sceau?.nom) $('#sceau-nom').textContent = `« ${v.sceau.nom} »`;
  if (v.sceau?.certificat?.startsWith('/')) $('#sceau-certificat').setAttribute('href', v.sceau.certificat);
  $('#verification-details').hidden = false;
  $('#fichier').addEventListener('change', async (e) => {
    const file = e.target.files[0];
    const group = $('#groupe-fichier');
    if (!file) return;
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    const same = hex === v.sha256;
    setMessage(group, $('#fichier-messages'), same ? 'valid' : 'error',
      same ? `Le fichier « ${file.name} » est identique à la convention enregistrée.`
        : `Le fichier « ${file.name} » diffère de la convention enregistrée (empreinte ${hex}) : ce n’est pas ce document, ou il a été modifié.`);
  });
}

// ---------------------------------------------------------------- Termination

function setupTermination() {
  const form = $('#resiliation-form');
  if (!form) return;
  const motif = $('#resiliation-motif');
  const group = $('#groupe-resiliation-motif');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = $('#resiliation-envoyer');
    const result = $('#resiliation-resultat');
    setMessage(group, $('#resiliation-motif-messages'), null, '', motif);
    result.replaceChildren();
    if (!motif.value.trim()) {
      setMessage(group, $('#resiliation-motif-messages'), 'error', 'Indiquez le motif de la résiliation : il est transmis à l’académie.', motif);
      motif.focus();
      return;
    }
    button.disabled = true;
    try {
      const r = await api('POST', `/dossiers/${dossier.id}/resiliation`, { motif: motif.value.trim() });
      if (r.ok) {
        showSummary(r.data, false);
        announce(`Résiliation enregistrée : elle prend effet le ${dateFr(r.data.resiliation.effet_le, false)}.`);
        return;
      }
      const err = (r.data?.errors || []).find((x) => x.champ === 'motif');
      if (err) {
        setMessage(group, $('#resiliation-motif-messages'), 'error', err.message, motif);
        motif.focus();
      } else {
        result.replaceChildren(alertBox('error', 'Résiliation non enregistrée', problemMessage(r.data, 'Le service est momentanément indisponible : réessayez.'), 'h3', 'fr-mt-2w'));
      }
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- Renewal

/** A button that opens a new dossier from this convention (`route`: renouvellement, avenant)
 * and goes to its private page, its own link to keep. */
function setupFollowUp(buttonId, route, resultId, what) {
  const button = $(buttonId);
  if (!button) return;
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const r = await api('POST', `/dossiers/${dossier.id}/${route}`, {});
      if (r.ok) {
        location.assign(r.data.url);
        return;
      }
      $(resultId).replaceChildren(alertBox('error', `${what} n’a pas été créé`,
        problemMessage(r.data, 'Le service est momentanément indisponible : réessayez.'), 'h3', 'fr-mt-2w'));
    } finally {
      button.disabled = false;
    }
  });
}

function setupRenewal() {
  setupFollowUp('#renouveler', 'renouvellement', '#renouvellement-resultat', 'Le dossier de renouvellement');
  setupFollowUp('#ouvrir-avenant', 'avenant', '#avenant-resultat', 'L’avenant');
}

// ---------------------------------------------------------------- Change of signatory

function showSignatoryChange(v) {
  $('#changement-signataire').hidden = v.statut === 'resilie' || !v.depose_le;
  const a = v.signataire_actuel;
  $('#changement-actuel').textContent = a
    ? `Signataire en fonction depuis le ${dateFr(a.le)} : ${a.prenom} ${a.nom.toUpperCase()}, ${a.qualite} — ${a.email}.`
    : '';
  const n = v.nouveau_signataire;
  $('#changement-code-form').hidden = !n;
  if (n) $('#changement-code-aide').textContent = `6 chiffres, envoyés à ${n.prenom} ${n.nom} (${n.envoye_a})`;
}

const CHANGE_FIELDS = ['prenom', 'nom', 'qualite', 'email'];

function setupSignatoryChange() {
  const form = $('#changement-form');
  if (!form) return;
  const clear = () => {
    for (const f of CHANGE_FIELDS) setMessage($(`#groupe-nouveau-${f}`), $(`#nouveau-${f}-messages`), null, '', $(`#nouveau-${f}`));
    setMessage($('#groupe-changement-code'), $('#changement-code-messages'), null, '', $('#changement-code'));
    $('#changement-resultat').replaceChildren();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const body = Object.fromEntries(CHANGE_FIELDS.map((f) => [f, $(`#nouveau-${f}`).value.trim()]));
    const button = $('#changement-envoyer');
    button.disabled = true;
    try {
      const r = await api('POST', `/dossiers/${dossier.id}/signataire`, body);
      if (r.ok) {
        const v = await api('GET', `/dossiers/${dossier.id}`);
        if (v.ok) showSignatoryChange(v.data);
        $('#changement-resultat').replaceChildren(alertBox('info', 'Code envoyé', `Un code a été envoyé à ${r.data.envoye_a} : saisissez-le ci-dessous pour confirmer le changement.`, 'h3', 'fr-mt-2w'));
        $('#changement-code').focus();
        return;
      }
      const errors = r.data?.errors || [];
      for (const err of errors) {
        if (CHANGE_FIELDS.includes(err.champ)) setMessage($(`#groupe-nouveau-${err.champ}`), $(`#nouveau-${err.champ}-messages`), 'error', err.message, $(`#nouveau-${err.champ}`));
      }
      const first = errors.find((x) => CHANGE_FIELDS.includes(x.champ));
      if (first) $(`#nouveau-${first.champ}`).focus();
      else $('#changement-resultat').replaceChildren(alertBox('error', 'Code non envoyé', problemMessage(r.data, 'Le service est momentanément indisponible : réessayez.'), 'h3', 'fr-mt-2w'));
    } finally {
      button.disabled = false;
    }
  });
  $('#changement-code-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const button = $('#changement-confirmer');
    button.disabled = true;
    try {
      const r = await api('POST', `/dossiers/${dossier.id}/signataire/confirmation`, { code: $('#changement-code').value.trim() });
      if (r.ok) {
        showSummary(r.data, false);
        $('#changement-resultat').replaceChildren(alertBox('success', 'Signataire changé', `${r.data.signataire_actuel.prenom} ${r.data.signataire_actuel.nom} est désormais le signataire de contact du dossier.`, 'h3', 'fr-mt-2w'));
        return;
      }
      setMessage($('#groupe-changement-code'), $('#changement-code-messages'), 'error', problemMessage(r.data, 'Le code n’a pas pu être vérifié : réessayez.'), $('#changement-code'));
      $('#changement-code').focus();
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- Lost link (start page)

function initLostLink() {
  const form = $('#lien-perdu');
  if (!form) return;
  const fields = { siret: ['#groupe-lien-siret', '#lien-siret-messages', '#lien-siret'], email: ['#groupe-lien-email', '#lien-email-messages', '#lien-email'] };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const button = $('#lien-envoyer');
    button.disabled = true;
    for (const [g, m, i] of Object.values(fields)) setMessage($(g), $(m), null, '', $(i));
    try {
      const r = await api('POST', '/acces/lien', {
        siret: $('#lien-siret').value.replace(/\s+/g, ''),
        email: $('#lien-email').value.trim(),
      });
      if (r.ok) {
        $('#lien-resultat').replaceChildren(alertBox('info', 'Demande enregistrée', r.data.detail, 'h3', 'fr-mt-2w'));
        return;
      }
      const errors = r.data?.errors || [];
      for (const err of errors) {
        const f = fields[err.champ];
        if (f) setMessage($(f[0]), $(f[1]), 'error', err.message, $(f[2]));
      }
      const first = errors.map((err) => fields[err.champ]).find(Boolean);
      if (first) $(first[2]).focus();
      $('#lien-resultat').replaceChildren(errors.length ? '' : alertBox('error', 'La demande n’a pas abouti',
        problemMessage(r.data, 'Le service est momentanément indisponible : réessayez dans quelques instants.'), 'h3', 'fr-mt-2w'));
    } finally {
      button.disabled = false;
    }
  });
}

// Started last: every binding above is initialised by then.
if (document.body.dataset.page === 'start') initLostLink();
if (document.body.dataset.page === 'verification') initVerification();
if (document.body.dataset.page === 'form') {
  init().catch((e) => {
    console.error(e);
    show('vue-introuvable');
  });
}
