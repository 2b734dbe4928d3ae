//! The collectivité's steps on its draft: create, autosave, deposit, delete; and on its
//! dossier sent back for correction: autosave and deposit again.

use super::{allowed, draft_expiry, event, DEPOSITED};
use crate::domain::change::{Change, Condition, Update};
use crate::domain::deposit::Depot;
use crate::domain::dossier::{DossierRecord, Etape, Statut};
use crate::domain::draft::Draft;
use crate::domain::ids::{numero, DossierId};
use crate::domain::life::{Actor, Refusal, Step};
use crate::domain::time::Now;

/// A new draft: number, jeton hash and what the first request filled.
pub fn create(
    id: DossierId,
    n: u64,
    jeton_sha256: String,
    brouillon: Draft,
    now: &Now,
) -> DossierRecord {
    DossierRecord {
        id,
        numero: numero(n),
        jeton_sha256,
        statut: Statut::Brouillon,
        etape: Etape::Brouillon,
        cree_le: now.stamp(),
        modifie_le: now.stamp(),
        depose_le: None,
        brouillon,
        code_signataire: None,
        confirmation_signataire: None,
        codes_envoyes: Vec::new(),
        depot: None,
        convention: None,
        conventions: Vec::new(),
        code_verification: None,
        avis_acceptation: None,
        accuse: None,
        accuse_bail: None,
        historique: Vec::new(),
        messages: Vec::new(),
        webhook_etat: None,
        webhook_tentatives: Vec::new(),
        expire_le: Some(draft_expiry(now)),
        correction_demandee: None,
        nature: Default::default(),
        convention_initiale: None,
        avenant: None,
        perimetre: None,
        avenants: Vec::new(),
        ecoles_fermees: Vec::new(),
        nouveau_signataire: None,
        signataire_actuel: None,
        resiliation: None,
        echeance: None,
        rappels_echeance: Vec::new(),
        avertissement_expiration: None,
        acces_generation: 0,
        revision: 0,
        ligne: None,
        archives: Default::default(),
    }
}

/// A new draft's content from the convention `r`: the collectivité, the signatory in office
/// (without the act that authorises them: a new signature needs its own), `ecoles`, the
/// référent.
fn prefilled(
    r: &DossierRecord,
    depot: &Depot,
    ecoles: &[crate::domain::deposit::EcoleDeposee],
) -> Draft {
    use crate::domain::draft::{DraftCollectivite, DraftEcole, DraftReferent, DraftSignataire};
    let (prenom, nom, email) = r
        .contact()
        .map(|(p, n, e)| (p.to_string(), n.to_string(), e.to_string()))
        .unwrap_or_default();
    let qualite = r
        .signataire_actuel
        .as_ref()
        .map_or_else(|| depot.signataire.qualite.clone(), |s| s.qualite.clone());
    Draft {
        collectivite: Some(DraftCollectivite {
            siret: Some(depot.collectivite.siret.clone()),
        }),
        signataire: Some(DraftSignataire {
            prenom: Some(prenom),
            nom: Some(nom),
            qualite: Some(qualite),
            email: Some(email),
            habilitation: None,
        }),
        ecoles: Some(
            ecoles
                .iter()
                .map(|e| DraftEcole {
                    uai: Some(e.uai.clone()),
                })
                .collect(),
        ),
        referent: Some(match &depot.referent {
            Some(rf) => DraftReferent {
                designe: Some(true),
                prenom_nom: Some(rf.prenom_nom.clone()),
                email: Some(rf.email.clone()),
            },
            None => DraftReferent {
                designe: Some(false),
                ..Default::default()
            },
        }),
        approbation: None,
    }
}

/// An avenant to the convention `r` (accepted): a new draft of nature `avenant`, pre-filled
/// with the convention's current perimeter for the collectivité to add or withdraw schools,
/// signed and instructed as a convention; once accepted, its perimeter becomes the
/// convention's (`apply_avenant`).
pub fn open_avenant(
    r: &DossierRecord,
    id: DossierId,
    n: u64,
    jeton_sha256: String,
    actor: &Actor,
    now: &Now,
) -> Result<DossierRecord, Refusal> {
    allowed(Step::OpenAvenant, r, actor)?;
    let depot = r.depot.as_ref().ok_or_else(|| {
        Refusal::Conflict("Seule une convention déposée reçoit un avenant.".into())
    })?;
    if r.nature == crate::domain::dossier::NatureDossier::Avenant {
        return Err(Refusal::Conflict(
            "Un avenant se rattache à la convention elle-même : ouvrez-le depuis la page de la \
             convention."
                .into(),
        ));
    }
    let perimetre = r.current_perimeter().to_vec();
    let brouillon = prefilled(r, depot, &perimetre);
    let mut draft = create(id, n, jeton_sha256, brouillon, now);
    let rang = r.avenants.len() as u32 + 1;
    draft.nature = crate::domain::dossier::NatureDossier::Avenant;
    draft.convention_initiale = Some(crate::domain::dossier::ConventionInitiale {
        id: r.id.clone(),
        numero: r.numero.clone(),
    });
    draft.avenant = Some(crate::domain::dossier::AvenantDe {
        rang,
        perimetre,
        siret: depot.collectivite.siret.clone(),
    });
    draft.historique.push(crate::domain::dossier::Evenement {
        le: now.stamp(),
        par: actor.signature().to_string(),
        nom: None,
        sub: actor.sub().map(str::to_string),
        action: "avenant ouvert".into(),
        detail: Some(format!("avenant n° {rang} à la convention n° {}", r.numero)),
    });
    Ok(draft)
}

/// The schools `after` adds to `before`, and those it withdraws, by UAI, in their order.
pub fn perimeter_change(
    before: &[crate::domain::deposit::EcoleDeposee],
    after: &[crate::domain::deposit::EcoleDeposee],
) -> (
    Vec<crate::domain::deposit::EcoleDeposee>,
    Vec<crate::domain::deposit::EcoleDeposee>,
) {
    let has = |list: &[crate::domain::deposit::EcoleDeposee], uai: &str| {
        list.iter().any(|e| e.uai == uai)
    };
    let ajouts = after
        .iter()
        .filter(|e| !has(before, &e.uai))
        .cloned()
        .collect();
    let retraits = before
        .iter()
        .filter(|e| !has(after, &e.uai))
        .cloned()
        .collect();
    (ajouts, retraits)
}

/// The renewal of the convention `r` (accepted, or terminated): a new draft of nature
/// `renouvellement`, pre-filled from it (the collectivité, the signatory in office to confirm
/// again by code, the schools, the référent), to be signed and deposited as a convention.
pub fn renew(
    r: &DossierRecord,
    id: DossierId,
    n: u64,
    jeton_sha256: String,
    actor: &Actor,
    now: &Now,
) -> Result<DossierRecord, Refusal> {
    allowed(Step::Renew, r, actor)?;
    let depot = r
        .depot
        .as_ref()
        .ok_or_else(|| Refusal::Conflict("Seule une convention déposée se renouvelle.".into()))?;
    if r.avenant.is_some() {
        return Err(Refusal::Conflict(
            "Un avenant ne se renouvelle pas : renouvelez la convention qu’il modifie.".into(),
        ));
    }
    let brouillon = prefilled(r, depot, &depot.ecoles);
    let mut draft = create(id, n, jeton_sha256, brouillon, now);
    draft.nature = crate::domain::dossier::NatureDossier::Renouvellement;
    draft.convention_initiale = Some(crate::domain::dossier::ConventionInitiale {
        id: r.id.clone(),
        numero: r.numero.clone(),
    });
    draft.historique.push(crate::domain::dossier::Evenement {
        le: now.stamp(),
        par: actor.signature().to_string(),
        nom: None,
        sub: actor.sub().map(str::to_string),
        action: "dossier ouvert pour renouveler une convention".into(),
        detail: Some(format!("convention n° {}", r.numero)),
    });
    Ok(draft)
}

/// The audit wording of a deposit after a correction (a new signature).
pub const DEPOSITED_AGAIN: &str =
    "dossier corrigé et déposé à nouveau, convention signée à nouveau";

/// What the collectivité's edits must still find: its draft, or its dossier still sent back
/// for correction.
fn still_editable(r: &DossierRecord) -> Condition {
    if r.correction_demandee.is_some() {
        Condition::CorrectionPending
    } else {
        Condition::Statut(Statut::Brouillon)
    }
}

/// The applicant's autosave: the patch merged into the draft, its expiry pushed back.
pub fn autosave(
    r: &DossierRecord,
    patch: Draft,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Autosave, r, actor)?;
    let mut brouillon = r.brouillon.clone();
    brouillon.merge(patch);
    let mut updates = Vec::new();
    // A confirmation or a pending code is for one address: another address voids it.
    let email = brouillon.signataire_address();
    if r.confirmation_signataire
        .as_ref()
        .is_some_and(|c| Some(&c.email) != email.as_ref())
    {
        updates.push(Update::ConfirmationSignataire(None));
    }
    if r.code_signataire
        .as_ref()
        .is_some_and(|c| Some(&c.email) != email.as_ref())
    {
        updates.push(Update::CodeSignataire(None));
    }
    updates.extend([Update::Brouillon(brouillon), Update::ModifieLe(now.stamp())]);
    // A draft untouched for 90 days goes; a deposited dossier under correction is kept.
    if r.statut == Statut::Brouillon {
        updates.push(Update::ExpireLe(Some(draft_expiry(now))));
    }
    Ok(Change {
        step: Step::Autosave,
        condition: still_editable(r),
        updates,
        notices: Vec::new(),
    })
}

/// The deposit of a validated dossier (`deposit::validate`, then identified): the
/// collectivité's signature. The dossier is kept from then on (no TTL). Deposited again after
/// a correction, it is signed again: a new convention version follows (generate-convention,
/// on `etape` back at `depose`), then a new acknowledgement; `depose_le` stays the first
/// deposit's, the audit trail has both.
pub fn deposit(
    r: &DossierRecord,
    brouillon: Draft,
    depot: Depot,
    actor: &Actor,
    now: &Now,
) -> Result<Change, Refusal> {
    allowed(Step::Deposit, r, actor)?;
    if let Some(a) = &r.avenant {
        if !a.siret.is_empty() && a.siret != depot.collectivite.siret {
            return Err(Refusal::Field(crate::domain::draft::FieldError::new(
                "collectivite.siret",
                format!(
                    "Un avenant est signé par la collectivité de la convention (SIRET {}) : \
                     remettez ce SIRET.",
                    a.siret
                ),
            )));
        }
        let (ajouts, retraits) = perimeter_change(&a.perimetre, &depot.ecoles);
        if ajouts.is_empty() && retraits.is_empty() {
            return Err(Refusal::Field(crate::domain::draft::FieldError::new(
                "ecoles",
                "Ces écoles sont celles de la convention : ajoutez ou retirez au moins une école \
                 pour que l’avenant ait un objet.",
            )));
        }
    }
    let detail = format!("{} école(s)", depot.ecoles.len());
    let depot_version = depot.signature.version_texte.clone();
    let mut updates = vec![
        Update::Brouillon(brouillon),
        Update::Depot(Box::new(depot)),
        Update::Statut(Statut::EnConstruction),
        Update::Etape(Etape::Depose),
        Update::ModifieLe(now.stamp()),
        Update::ExpireLe(None),
        // The draft's codes are spent: a later code (a new signatory) starts the dossier's
        // quota again; the address's own quota still bounds it.
        Update::CodesEnvoyes(Vec::new()),
    ];
    if r.correction_demandee.is_some() {
        updates.extend([
            Update::Correction(None),
            Update::ClearAccuse,
            event(now, actor, DEPOSITED_AGAIN, Some(detail)),
        ]);
    } else {
        // An avenant's term is its convention's.
        if let Some(e) = crate::domain::term::echeance(&now.stamp(), &depot_version)
            .filter(|_| r.avenant.is_none())
        {
            updates.push(Update::Echeance(e));
        }
        updates.extend([
            Update::DeposeLe(now.stamp()),
            event(now, actor, DEPOSITED, Some(detail)),
        ]);
    }
    Ok(Change {
        step: Step::Deposit,
        condition: still_editable(r),
        updates,
        notices: Vec::new(),
    })
}

/// The applicant drops a draft (the store deletes the item).
pub fn delete_draft(r: &DossierRecord, actor: &Actor) -> Result<Change, Refusal> {
    allowed(Step::DeleteDraft, r, actor)?;
    Ok(Change {
        step: Step::DeleteDraft,
        condition: Condition::Statut(Statut::Brouillon),
        updates: Vec::new(),
        notices: Vec::new(),
    })
}
