//! The dossier as the API shows it to its collectivité (and, with more, to instructeurs).

use crate::domain::dossier::DossierRecord;
use crate::domain::life::Phase;
use crate::domain::school::SchoolDirectory;
use crate::domain::siret::Siret;
use crate::domain::uai::Uai;
use crate::links;
use crate::App;
use serde_json::{json, Value};

/// The dossier view of the API (`Dossier` in openapi.yaml), as its collectivité reads it: while
/// it edits (a draft, or the dossier sent back for correction) its draft as saved, else what
/// it deposited.
pub fn view(app: &App, r: &DossierRecord) -> Value {
    build(app, r, Phase::of(r).editable())
}

/// The dossier as deposited, edits under way aside (the instructeur's pages).
pub fn deposited_view(app: &App, r: &DossierRecord) -> Value {
    build(app, r, r.depot.is_none())
}

fn build(app: &App, r: &DossierRecord, editing: bool) -> Value {
    let convention = r.convention.as_ref().map(|c| {
        json!({
            "version": c.version,
            "nature": c.nature,
            "genere_le": c.genere_le,
            "sha256": c.sha256,
            "code_verification": c.code_verification,
            "taille": c.taille,
            "url": links::convention(&app.config, &r.id),
        })
    });
    // Every version, oldest first; `convention` is the last one.
    let conventions: Vec<Value> = r
        .versions()
        .iter()
        .map(|c| {
            json!({
                "version": c.version,
                "nature": c.nature,
                "genere_le": c.genere_le,
                "sha256": c.sha256,
                "code_verification": c.code_verification,
                "taille": c.taille,
                "url": links::convention_version(&app.config, &r.id, c.version),
            })
        })
        .collect();
    let mut v = json!({
        "id": r.id,
        "numero": r.numero,
        "statut": r.statut,
        "cree_le": r.cree_le,
        "modifie_le": r.modifie_le,
        "depose_le": r.depose_le,
        "convention": convention,
        "conventions": conventions,
        "accuse": r.accuse.as_ref().map(|a| json!({"envoye_le": a.envoye_le})),
        // When the convention in force was accepted (null otherwise): the pages count the
        // days a school has waited for the ENT editor from it.
        "accepte_le": r.accepte_le(),
        // A convention, or the renewal of one (`convention_initiale`: the numero it follows).
        "nature": r.nature,
        "convention_initiale": r.convention_initiale.as_ref().map(|c| &c.numero),
        // An avenant: its number and the perimeter it amends; a convention: its accepted
        // avenants and the perimeter they leave (the deposit's schools until one is accepted).
        "avenant": r.avenant.as_ref().map(|a| json!({
            "rang": a.rang,
            "perimetre_initial": a.perimetre.iter().map(|e| &e.uai).collect::<Vec<_>>(),
        })),
        "avenants": r.avenants.iter().map(|a| json!({
            "id": a.id, "numero": a.numero, "rang": a.rang, "accepte_le": a.accepte_le,
        })).collect::<Vec<_>>(),
        // Schools of the current perimeter the directory closed: an avenant is expected.
        "ecoles_fermees": r.ecoles_fermees,
        "perimetre_actuel": r.depot.as_ref().map(|_| r.current_perimeter().iter().map(|e| json!({
            "uai": e.uai, "nom": e.nom, "commune": e.commune,
        })).collect::<Vec<_>>()),
        // What the académie asked the collectivité to correct, until it deposits again.
        "correction_demandee": r.correction_demandee,
        // Once deposited: when it took effect, when it ends at the latest (article 7).
        "echeance": r.echeance(),
        // A termination asked by either party (it takes effect on `effet_le`).
        "resiliation": r.resiliation,
        // After a change of signatory: who is in office (emails go there) and since when; and
        // a change waiting for the new address's code.
        "signataire_actuel": r.signataire_actuel,
        "nouveau_signataire": r.nouveau_signataire.as_ref().map(|n| json!({
            "prenom": n.prenom, "nom": n.nom, "qualite": n.qualite,
            "envoye_a": crate::domain::signataire::masked(&n.email), "demande_le": n.le,
        })),
    });
    match r.depot.as_ref().filter(|_| !editing) {
        Some(d) => {
            v["collectivite"] = json!(d.collectivite);
            v["signataire"] = json!(d.signataire);
            v["signataire"]["email_confirme_le"] = json!(d.signature.email_confirme_le);
            v["ecoles"] = json!(d.ecoles);
            // Each school's GAR access as the ENT editor reported it: null until it answers.
            for e in v["ecoles"].as_array_mut().into_iter().flatten() {
                if e.get("gar").is_none() {
                    e["gar"] = Value::Null;
                }
            }
            v["referent"] = match &d.referent {
                Some(rf) => {
                    json!({"designe": true, "prenom_nom": rf.prenom_nom, "email": rf.email})
                }
                None => json!({"designe": false}),
            };
            v["approbation"] = json!(true);
            v["signature"] = json!({
                "horodatage": d.signature.horodatage,
                "version_texte": d.signature.version_texte,
                "sha256": d.signature.sha256,
            });
        }
        None => {
            let b = &r.brouillon;
            let siret = b.collectivite.as_ref().and_then(|c| c.siret.clone());
            let siren = siret
                .as_deref()
                .and_then(|s| Siret::parse(s).ok())
                .map(|s| s.siren().to_string());
            v["collectivite"] = json!({ "siret": siret, "siren": siren, "nom": null });
            v["signataire"] = json!(b.signataire.clone().unwrap_or_default());
            v["signataire"]["email_confirme_le"] = json!(r.current_confirmation().map(|c| &c.le));
            v["signataire"]["code_en_attente"] = json!(r.current_code().map(|c| json!({
                "envoye_a": crate::domain::signataire::masked(&c.email),
                "envoye_le": c.envoye_le,
                "expire_le": chrono::DateTime::from_timestamp(c.expire_le, 0)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "essais_restants": crate::domain::signataire::MAX_TRIES.saturating_sub(c.essais),
            })));
            v["ecoles"] = Value::Array(
                b.ecoles
                    .iter()
                    .flatten()
                    .map(|e| {
                        let uai = e.uai.clone().unwrap_or_default();
                        let known = Uai::parse(&uai)
                            .ok()
                            .and_then(|u| app.directory().ecole(&u).cloned());
                        json!({
                            "uai": uai,
                            "nom": known.as_ref().map(|k| k.nom.clone()),
                            "commune": known.as_ref().map(|k| k.commune.clone()),
                            "code_insee": known.as_ref().map(|k| k.code_insee.clone()),
                            "gar": null,
                        })
                    })
                    .collect(),
            );
            v["referent"] = json!(b.referent.clone().unwrap_or_default());
            v["approbation"] = json!(b.approbation.unwrap_or(false));
        }
    }
    v
}
