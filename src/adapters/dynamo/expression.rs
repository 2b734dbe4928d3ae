//! A domain [`Change`] translated into DynamoDB's expression language.

use super::{av, n, s, LISTE_DEPOSES};
use crate::domain::change::{Change, Condition, Update};
use crate::domain::deposit::Depot;
use crate::domain::dossier::{AvisEtat, Etape, Statut};
use crate::domain::journal::{Entries, Journal};
use crate::domain::packed;
use crate::ports::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// The words an instructeur searches a dossier by: collectivité name and SIRET, folded.
fn search_text(depot: &Depot) -> String {
    let c = &depot.collectivite;
    crate::reference::search_key(&format!("{} {}", c.nom.as_deref().unwrap_or(""), c.siret))
}

/// The wire value of an acceptance email's state, as the stream filter reads it.
fn av_etat(e: AvisEtat) -> AttributeValue {
    s(e.as_str())
}

/// A list of distinct strings, in first-seen order.
fn string_list(items: impl Iterator<Item = String>) -> AttributeValue {
    let mut seen: Vec<String> = Vec::new();
    for i in items {
        if !seen.contains(&i) {
            seen.push(i);
        }
    }
    AttributeValue::L(seen.into_iter().map(AttributeValue::S).collect())
}

/// A journal's entries as a DynamoDB list.
fn entries(e: &Entries) -> Result<Vec<AttributeValue>, StoreError> {
    match e {
        Entries::Historique(v) => v.iter().map(av).collect(),
        Entries::Messages(v) => v.iter().map(av).collect(),
        Entries::WebhookTentatives(v) => v.iter().map(av).collect(),
    }
}

/// A domain [`Change`] as one UpdateItem: its condition expression, its SET / REMOVE clauses
/// and their values. Appends of one list are gathered into one `list_append`.
#[derive(Default)]
pub(super) struct Expression {
    pub(super) values: HashMap<String, AttributeValue>,
    set: Vec<String>,
    remove: Vec<&'static str>,
    /// Codes of superseded convention versions, with their version: each gets its index item
    /// (see `DynamoDossiers::write`), in the same transaction as the dossier's update.
    pub(super) superseded_codes: Vec<(String, u32)>,
    /// Journal pages moved out of the dossier (`journal::Move`): each an item of its own
    /// (`DynamoDossiers::write`), in the same transaction.
    pub(super) pages: Vec<(Journal, u32, AttributeValue)>,
    /// The moves' and the revision's conditions, added to the change's.
    guards: Vec<String>,
}

impl Expression {
    fn value(&mut self, v: AttributeValue) -> String {
        let name = format!(":v{}", self.values.len());
        self.values.insert(name.clone(), v);
        name
    }

    fn set(&mut self, attribute: &str, v: AttributeValue) {
        let name = self.value(v);
        self.set.push(format!("{attribute} = {name}"));
    }

    fn append(&mut self, attribute: &str, items: Vec<AttributeValue>) {
        if items.is_empty() {
            return;
        }
        let empty = self.value(AttributeValue::L(Vec::new()));
        let list = self.value(AttributeValue::L(items));
        self.set.push(format!(
            "{attribute} = list_append(if_not_exists({attribute}, {empty}), {list})"
        ));
    }

    /// Edited by the collectivité: a draft, or sent back for correction (`change::editable`).
    fn editable(&mut self) -> String {
        let st = self.value(s(Statut::Brouillon.as_str()));
        format!("(statut = {st} OR attribute_exists(correction_demandee))")
    }

    pub(super) fn condition(&mut self, c: &Condition) -> String {
        match c {
            Condition::Statut(st) => {
                let v = self.value(s(st.as_str()));
                format!("statut = {v}")
            }
            Condition::ConventionDue { current } => {
                let v = self.value(s(Etape::Depose.as_str()));
                match current {
                    None => format!("etape = {v} AND attribute_not_exists(convention)"),
                    Some(c) => {
                        let current = self.condition(&Condition::CurrentVersion(*c));
                        format!("etape = {v} AND {current}")
                    }
                }
            }
            Condition::CorrectionPending => {
                let st = self.value(s(Statut::EnConstruction.as_str()));
                format!("statut = {st} AND attribute_exists(correction_demandee)")
            }
            Condition::DepositedCodeUnchanged { envoye_le } => {
                let base = "attribute_exists(depot) AND attribute_not_exists(correction_demandee)";
                match envoye_le {
                    None => format!("{base} AND attribute_not_exists(code_signataire)"),
                    Some(t) => {
                        let t = self.value(s(t));
                        format!("{base} AND code_signataire.envoye_le = {t}")
                    }
                }
            }
            Condition::AvenantsAt(count) => {
                let st = self.value(s(Statut::Accepte.as_str()));
                if *count == 0 {
                    format!("statut = {st} AND attribute_not_exists(avenants)")
                } else {
                    let c = self.value(n(*count as i64));
                    format!("statut = {st} AND size(avenants) = {c}")
                }
            }
            Condition::NotTerminated => {
                let st = self.value(s(Statut::Accepte.as_str()));
                format!("statut = {st} AND attribute_not_exists(resiliation)")
            }
            Condition::Terminated => {
                let st = self.value(s(Statut::Accepte.as_str()));
                format!("statut = {st} AND attribute_exists(resiliation)")
            }
            Condition::Reminders(v) => {
                let st = self.value(s(Statut::Accepte.as_str()));
                if v.is_empty() {
                    format!("statut = {st} AND attribute_not_exists(rappels_echeance)")
                } else {
                    let list = self.value(AttributeValue::L(
                        v.iter().map(|d| n(i64::from(*d))).collect(),
                    ));
                    format!("statut = {st} AND rappels_echeance = {list}")
                }
            }
            Condition::ClosedSchools(v) => {
                let st = self.value(s(Statut::Accepte.as_str()));
                let mut c = format!("statut = {st}");
                if v.is_empty() {
                    c.push_str(" AND attribute_not_exists(ecoles_fermees)");
                } else {
                    let n = self.value(n(v.len() as i64));
                    c.push_str(&format!(" AND size(ecoles_fermees) = {n}"));
                    for (i, uai) in v.iter().enumerate() {
                        let u = self.value(s(uai));
                        c.push_str(&format!(" AND ecoles_fermees[{i}].uai = {u}"));
                    }
                }
                c
            }
            Condition::DraftExpiring { expire_le } => {
                let st = self.value(s(Statut::Brouillon.as_str()));
                let t = self.value(n(*expire_le));
                format!(
                    "statut = {st} AND expire_le = {t} AND \
                     (attribute_not_exists(avertissement_expiration) OR avertissement_expiration <> {t})"
                )
            }
            Condition::AccessGeneration(g) => {
                let v = self.value(n(i64::from(*g)));
                if *g == 0 {
                    format!("(attribute_not_exists(acces_generation) OR acces_generation = {v})")
                } else {
                    format!("acces_generation = {v}")
                }
            }
            Condition::LeaseFree { now_ms } => {
                let e = self.value(s(Etape::ConventionEnregistree.as_str()));
                let t = self.value(n(*now_ms));
                format!(
                    "etape = {e} AND attribute_not_exists(accuse) AND \
                     (attribute_not_exists(accuse_bail) OR accuse_bail < {t})"
                )
            }
            Condition::NotAcknowledged => "attribute_not_exists(accuse)".into(),
            Condition::Exists => "attribute_exists(id)".into(),
            Condition::CodeUnchanged { envoye_le } => {
                let editable = self.editable();
                match envoye_le {
                    None => format!("{editable} AND attribute_not_exists(code_signataire)"),
                    Some(t) => {
                        let t = self.value(s(t));
                        format!("{editable} AND code_signataire.envoye_le = {t}")
                    }
                }
            }
            Condition::PendingCode {
                code_sha256,
                essais,
            } => {
                let editable = self.editable();
                let h = self.value(s(code_sha256));
                let e = self.value(n(i64::from(*essais)));
                format!(
                    "({editable} OR attribute_exists(nouveau_signataire)) AND \
                     code_signataire.code_sha256 = {h} AND code_signataire.essais = {e}"
                )
            }
            Condition::CurrentVersion(v) => {
                let version = self.value(n(i64::from(*v)));
                if *v == 1 {
                    // A convention recorded before versions existed has no `version`: it is
                    // version 1.
                    format!(
                        "attribute_exists(convention) AND \
                         (attribute_not_exists(convention.version) OR convention.version = {version})"
                    )
                } else {
                    format!("convention.version = {version}")
                }
            }
            Condition::AcceptanceEmailFree { now_ms } => {
                let a = self.value(av_etat(AvisEtat::AEnvoyer));
                let t = self.value(n(*now_ms));
                format!(
                    "avis_acceptation.etat = {a} AND \
                     (attribute_not_exists(avis_acceptation.bail) OR avis_acceptation.bail < {t})"
                )
            }
            Condition::AcceptanceEmailDue => {
                let a = self.value(av_etat(AvisEtat::AEnvoyer));
                format!("avis_acceptation.etat = {a}")
            }
            // The schools at the answer's indices are checked on the record read
            // (`Condition::holds`): packed, they cannot be addressed here, and the write is
            // under that record's revision (`listing::stamp`), so nothing moved them since.
            Condition::GarPerimeter { ouvertes, .. } => {
                let st = self.value(s(Statut::Accepte.as_str()));
                let mut c = format!("statut = {st}");
                let o = self.value(n(i64::from(*ouvertes)));
                if *ouvertes == 0 {
                    c.push_str(&format!(
                        " AND (attribute_not_exists(gar_ouvertes) OR gar_ouvertes = {o})"
                    ));
                } else {
                    c.push_str(&format!(" AND gar_ouvertes = {o}"));
                }
                c
            }
        }
    }

    pub(super) fn of(change: &Change) -> Result<(String, Expression), StoreError> {
        let mut x = Expression::default();
        let condition = x.condition(&change.condition);
        let (mut events, mut messages, mut attempts) = (Vec::new(), Vec::new(), Vec::new());
        // The tails a move rewrites: what the item keeps of them, before this change's appends.
        let mut kept: HashMap<Journal, Vec<AttributeValue>> = HashMap::new();
        for u in &change.updates {
            match u {
                Update::Statut(st) => x.set("statut", s(st.as_str())),
                Update::Etape(e) => x.set("etape", s(e.as_str())),
                Update::Brouillon(d) => x.set("brouillon", av(d)?),
                Update::Depot(d) => {
                    x.set("depot", av(d)?);
                    // The list index and its filters read these top-level copies.
                    x.set("liste", s(LISTE_DEPOSES));
                    x.set("recherche", s(&search_text(d)));
                    x.set(
                        "codes_insee",
                        string_list(d.ecoles.iter().map(|e| e.code_insee.clone())),
                    );
                    // The dossier's own département: the instructeurs' scope filters on it.
                    if let Some(dep) = d.departement() {
                        x.set("departement", s(&dep));
                    }
                    x.set(
                        "departements",
                        string_list(
                            d.ecoles
                                .iter()
                                .map(|e| crate::reference::departement_of(&e.code_insee)),
                        ),
                    );
                }
                Update::ModifieLe(t) => x.set("modifie_le", s(t)),
                Update::DeposeLe(t) => x.set("depose_le", s(t)),
                Update::ExpireLe(Some(t)) => x.set("expire_le", n(*t)),
                Update::ExpireLe(None) => x.remove.push("expire_le"),
                Update::Conventions(all) => {
                    let Some((current, superseded)) = all.split_last() else {
                        continue;
                    };
                    x.set("conventions", av(all)?);
                    x.set("convention", av(current)?);
                    // The verification index (a GSI on this attribute) finds the current code;
                    // the superseded ones get an index item each.
                    x.set("code_verification", s(&current.code_verification));
                    x.superseded_codes.extend(
                        superseded
                            .iter()
                            .map(|c| (c.code_verification.clone(), c.version)),
                    );
                }
                Update::Accuse(a) => x.set("accuse", av(a)?),
                Update::ClearAccuse => x.remove.push("accuse"),
                Update::Correction(Some(c)) => x.set("correction_demandee", av(c)?),
                Update::Correction(None) => x.remove.push("correction_demandee"),
                Update::JetonSha256(h) => x.set("jeton_sha256", s(h)),
                Update::AccesGeneration(g) => x.set("acces_generation", n(i64::from(*g))),
                Update::Resiliation(t) => x.set("resiliation", av(t)?),
                // Packed, as the record's serde writes it (`domain::packed`).
                Update::Perimetre(p) => x.set("perimetre", s(&packed::pack(p))),
                Update::Avenants(a) => x.set("avenants", av(a)?),
                Update::EcolesFermees(e) if e.is_empty() => x.remove.push("ecoles_fermees"),
                Update::EcolesFermees(e) => x.set("ecoles_fermees", av(e)?),
                Update::NouveauSignataire(Some(n)) => x.set("nouveau_signataire", av(n)?),
                Update::NouveauSignataire(None) => x.remove.push("nouveau_signataire"),
                Update::SignataireActuel(a) => x.set("signataire_actuel", av(a)?),
                Update::Echeance(e) => x.set("echeance", av(e)?),
                // An empty list is no attribute, as `Condition::Reminders(vec![])` reads it.
                Update::RappelsEcheance(v) if v.is_empty() => x.remove.push("rappels_echeance"),
                Update::RappelsEcheance(v) => x.set("rappels_echeance", av(v)?),
                Update::AvertissementExpiration(t) => x.set("avertissement_expiration", n(*t)),
                Update::Lease(Some(t)) => x.set("accuse_bail", n(*t)),
                Update::Lease(None) => x.remove.push("accuse_bail"),
                Update::WebhookEtat(e) => x.set("webhook_etat", av(e)?),
                Update::AppendEvent(e) => events.push(av(e)?),
                Update::AppendMessage(m) => messages.push(av(m)?),
                Update::AppendWebhookAttempt(a) => attempts.push(av(a)?),
                Update::Archive(m) => {
                    let guard = if m.before.is_empty() {
                        "attribute_not_exists(archives)".to_string()
                    } else {
                        let v = x.value(n(i64::from(m.before.version)));
                        format!("archives.version = {v}")
                    };
                    x.guards.push(guard);
                    x.set("archives", av(&m.after)?);
                    for j in &m.journals {
                        let journal = j.kept.journal();
                        let len = x.value(n(j.tail_len as i64));
                        x.guards
                            .push(format!("size({}) = {len}", journal.attribute()));
                        kept.insert(journal, entries(&j.kept)?);
                        for p in &j.pages {
                            x.pages.push((
                                journal,
                                p.number,
                                AttributeValue::L(entries(&p.entries)?),
                            ));
                        }
                    }
                }
                Update::CodeSignataire(Some(c)) => x.set("code_signataire", av(c)?),
                Update::CodeSignataire(None) => x.remove.push("code_signataire"),
                Update::ConfirmationSignataire(Some(c)) => x.set("confirmation_signataire", av(c)?),
                Update::ConfirmationSignataire(None) => x.remove.push("confirmation_signataire"),
                Update::CodesEnvoyes(t) => x.set("codes_envoyes", av(t)?),
                Update::AvisAcceptation(a) => x.set("avis_acceptation", av(a)?),
                Update::AvisBail(Some(t)) => x.set("avis_acceptation.bail", n(*t)),
                Update::AvisBail(None) => x.remove.push("avis_acceptation.bail"),
                Update::Gar { ouvertes, .. } => {
                    // The schools themselves are packed: `DepotEcoles` writes them whole.
                    if !change
                        .updates
                        .iter()
                        .any(|u| matches!(u, Update::DepotEcoles(_)))
                    {
                        return Err(StoreError::Unavailable(
                            "réponse de l’éditeur écrite sans ses écoles (change::whole_lists)"
                                .into(),
                        ));
                    }
                    // The list's filter « en attente de l’éditeur » reads this copy.
                    x.set("gar_ouvertes", n(i64::from(*ouvertes)));
                }
                Update::DepotEcoles(e) => x.set("depot.ecoles", s(&packed::pack(e))),
                Update::Revision(v) => {
                    let guard = if *v == 0 {
                        "attribute_not_exists(revision)".to_string()
                    } else {
                        let read = x.value(n(*v as i64));
                        format!("revision = {read}")
                    };
                    x.guards.push(guard);
                    x.set("revision", n(*v as i64 + 1));
                }
                Update::Ligne(l) => x.set("ligne", av(&**l)?),
            }
        }
        for (journal, appended) in [
            (Journal::Historique, events),
            (Journal::Messages, messages),
            (Journal::WebhookTentatives, attempts),
        ] {
            match kept.remove(&journal) {
                Some(mut tail) => {
                    tail.extend(appended);
                    if tail.is_empty() {
                        x.remove.push(journal.attribute());
                    } else {
                        x.set(journal.attribute(), AttributeValue::L(tail));
                    }
                }
                None => x.append(journal.attribute(), appended),
            }
        }
        let condition = if x.guards.is_empty() {
            condition
        } else {
            format!("({condition}) AND {}", x.guards.join(" AND "))
        };
        Ok((condition, x))
    }

    pub(super) fn update_expression(&self) -> String {
        let mut e = String::new();
        if !self.set.is_empty() {
            e.push_str("SET ");
            e.push_str(&self.set.join(", "));
        }
        if !self.remove.is_empty() {
            e.push_str(" REMOVE ");
            e.push_str(&self.remove.join(", "));
        }
        e
    }
}
