//! Applicant routes: create, autosave, deposit, read, download, and public verification.

use super::problem::ApiError;
use super::{client_context, json, json_body, presented_jeton, ApiResult};
use crate::domain::deposit::{validate, SigningContext};
use crate::domain::dossier::{DossierRecord, Etape, Statut};
use crate::domain::draft::Draft;
use crate::domain::ids::{access_granted, numero, DossierId, Jeton};
use crate::domain::school::SchoolDirectory;
use crate::domain::siret::Siret;
use crate::domain::uai::Uai;
use crate::identification::identify;
use crate::ports::StoreError;
use crate::render::current_version;
use crate::App;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

/// Drafts untouched for 90 days are deleted by the table's TTL.
pub const DRAFT_LIFETIME_DAYS: i64 = 90;

pub fn draft_expiry() -> i64 {
    chrono::Utc::now().timestamp() + DRAFT_LIFETIME_DAYS * 86_400
}

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The private page of a dossier, as given at creation and in emails.
pub fn private_url(app: &App, id: &str, jeton: &str) -> String {
    format!("{}/dossiers/{id}?jeton={jeton}", app.config.public_base_url)
}

pub async fn create(app: &App, req: &Request) -> ApiResult {
    let draft = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    let n = app.dossiers.next_numero().await?;
    let id = DossierId::generate();
    let jeton = Jeton::generate();
    let t = now();
    let record = DossierRecord {
        id: id.to_string(),
        numero: numero(n),
        jeton_sha256: jeton.hash(),
        statut: Statut::Brouillon,
        etape: Etape::Brouillon,
        cree_le: t.clone(),
        modifie_le: t,
        depose_le: None,
        brouillon: draft,
        depot: None,
        convention: None,
        code_verification: None,
        accuse: None,
        accuse_bail: None,
        webhook_etat: None,
        webhook_tentatives: Vec::new(),
        historique: Vec::new(),
        messages: Vec::new(),
        expire_le: Some(draft_expiry()),
    };
    app.dossiers.create(&record).await?;
    tracing::info!(dossier = %id, numero = %record.numero, "draft created");
    Ok(json(
        201,
        &json!({
            "id": record.id,
            "numero": record.numero,
            "jeton": jeton.as_str(),
            "url": private_url(app, id.as_str(), jeton.as_str()),
        }),
    ))
}

/// The dossier, if the presented jeton opens it. Unknown ids, malformed ids and wrong jetons
/// all give the same 404, after the same hashing work.
pub(crate) async fn authorize(
    app: &App,
    req: &Request,
    id: &str,
) -> Result<DossierRecord, ApiError> {
    let presented = presented_jeton(req).unwrap_or_default();
    let secret = app.config.link_secret.as_bytes();
    let Some(id) = DossierId::parse(id) else {
        let _ = access_granted(&presented, "", secret, &DossierId::generate());
        return Err(ApiError::NotFound);
    };
    let record = app.dossiers.get(id.as_str()).await?;
    let stored = record
        .as_ref()
        .map(|r| r.jeton_sha256.as_str())
        .unwrap_or("");
    if access_granted(&presented, stored, secret, &id) && !presented.is_empty() {
        record.ok_or(ApiError::NotFound)
    } else {
        Err(ApiError::NotFound)
    }
}

pub async fn show(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    Ok(json(200, &view(app, &record)))
}

pub async fn autosave(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    if record.statut != Statut::Brouillon {
        return Err(already_deposited(&record));
    }
    let patch = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    record.brouillon.merge(patch);
    record.modifie_le = now();
    match app
        .dossiers
        .save_draft(&record.id, &record.brouillon, &record.modifie_le)
        .await
    {
        Err(StoreError::Conflict) => Err(ApiError::Conflict(
            "Le dossier vient d’être déposé : le brouillon ne peut plus être modifié.".into(),
        )),
        r => r.map_err(ApiError::from),
    }?;
    Ok(json(200, &view(app, &record)))
}

fn already_deposited(record: &DossierRecord) -> ApiError {
    let quand = record
        .depose_le
        .as_deref()
        .map(crate::render::time::french_datetime_str)
        .unwrap_or_default();
    ApiError::Conflict(format!(
        "Ce dossier a déjà été déposé le {quand} : il ne peut plus être modifié."
    ))
}

pub async fn deposit(app: &App, req: &Request, id: &str) -> ApiResult {
    let mut record = authorize(app, req, id).await?;
    if record.statut != Statut::Brouillon {
        return Err(already_deposited(&record));
    }
    let patch = Draft::from_json(&json_body(req)?).map_err(ApiError::Validation)?;
    record.brouillon.merge(patch);
    let (ip, user_agent) = client_context(req);
    let t = now();
    let depot = validate(
        &record.brouillon,
        app.directory.as_ref(),
        SigningContext {
            horodatage: t.clone(),
            ip,
            user_agent,
            version_texte: current_version().to_string(),
        },
    )
    .map_err(ApiError::Validation)?;
    let mut depot = depot;
    let siret = Siret::parse(&depot.collectivite.siret).expect("validated");
    let who = identify(&app.directory, app.registry.as_ref(), &siret).await;
    depot.collectivite.nom = who.nom;
    depot.collectivite.adresse = who.adresse;
    depot.collectivite.verifie = who.verifie;
    match app
        .dossiers
        .deposit(&record.id, &record.brouillon, &depot, &t)
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict("Ce dossier a déjà été déposé.".into()))
        }
        r => r?,
    }
    tracing::info!(dossier = %record.id, ecoles = depot.ecoles.len(), "dossier deposited");
    record.statut = Statut::EnConstruction;
    record.etape = Etape::Depose;
    record.depose_le = Some(t.clone());
    record.modifie_le = t;
    record.depot = Some(depot);
    Ok(json(200, &view(app, &record)))
}

pub async fn download(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let Some(c) = &record.convention else {
        let detail = if record.statut == Statut::Brouillon {
            "Le dossier n’est pas encore déposé : la convention n’existe pas encore."
        } else {
            "La convention est en cours de génération : réessayez dans quelques secondes."
        };
        return Err(ApiError::Conflict(detail.into()));
    };
    let filename = format!("convention-{}.pdf", record.numero);
    let url = app
        .documents
        .presign_get(&c.cle, &filename, app.config.presign_ttl_seconds)
        .await?;
    Ok(Response::builder()
        .status(302)
        .header("location", url)
        .header("cache-control", "no-store")
        .header("referrer-policy", "no-referrer")
        .body(Body::Empty)
        .expect("presigned URLs are valid header values"))
}

/// Public check of a printed convention: no personal data.
pub async fn verify(app: &App, code: &str) -> ApiResult {
    let code = code.trim().to_ascii_uppercase();
    let well_formed =
        code.len() == 14 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let found = if well_formed {
        app.dossiers.find_by_verification_code(&code).await?
    } else {
        None
    };
    let (Some(record), true) = (found, well_formed) else {
        return Err(ApiError::NotFoundWith(
            "Aucune convention ne correspond à ce code de vérification.".into(),
        ));
    };
    let (Some(depot), Some(conv)) = (&record.depot, &record.convention) else {
        return Err(ApiError::NotFoundWith(
            "Aucune convention ne correspond à ce code de vérification.".into(),
        ));
    };
    Ok(json(
        200,
        &json!({
            "numero": record.numero,
            "collectivite": {
                "siret": depot.collectivite.siret,
                "nom": depot.collectivite.nom,
            },
            "depose_le": record.depose_le,
            "sha256": conv.sha256,
            "genere_le": conv.genere_le,
            "version_texte": depot.signature.version_texte,
            "ecoles": depot.ecoles.iter().map(|e| e.uai.clone()).collect::<Vec<_>>(),
            "statut": record.statut,
        }),
    ))
}

/// The dossier view of API.md.
pub fn view(app: &App, r: &DossierRecord) -> Value {
    let convention = r.convention.as_ref().map(|c| {
        json!({
            "genere_le": c.genere_le,
            "sha256": c.sha256,
            "code_verification": c.code_verification,
            "taille": c.taille,
            "url": format!("{}/api/dossiers/{}/convention", app.config.public_base_url, r.id),
        })
    });
    let mut v = json!({
        "id": r.id,
        "numero": r.numero,
        "statut": r.statut,
        "cree_le": r.cree_le,
        "modifie_le": r.modifie_le,
        "depose_le": r.depose_le,
        "convention": convention,
        "accuse": r.accuse.as_ref().map(|a| json!({"envoye_le": a.envoye_le})),
    });
    match &r.depot {
        Some(d) => {
            v["collectivite"] = json!(d.collectivite);
            v["signataire"] = json!(d.signataire);
            v["ecoles"] = json!(d.ecoles);
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
            v["ecoles"] = Value::Array(
                b.ecoles
                    .iter()
                    .flatten()
                    .map(|e| {
                        let uai = e.uai.clone().unwrap_or_default();
                        let known = Uai::parse(&uai)
                            .ok()
                            .and_then(|u| app.directory.ecole(&u).cloned());
                        json!({
                            "uai": uai,
                            "nom": known.as_ref().map(|k| k.nom.clone()),
                            "commune": known.as_ref().map(|k| k.commune.clone()),
                            "code_insee": known.as_ref().map(|k| k.code_insee.clone()),
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

/// The applicant deletes a draft (a deposited dossier is kept: 409).
pub async fn delete(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    if record.statut != Statut::Brouillon {
        return Err(already_deposited(&record));
    }
    match app.dossiers.delete_draft(&record.id).await {
        Err(StoreError::Conflict) => return Err(already_deposited(&record)),
        r => r?,
    }
    Ok(Response::builder()
        .status(204)
        .body(Body::Empty)
        .expect("static"))
}

/// The messagerie as the collectivité sees it.
pub async fn messages(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    Ok(json(200, &json!({"messages": record.messages})))
}

/// The collectivité writes to the académie; the académie's contact address is told by email.
pub async fn post_message(app: &App, req: &Request, id: &str) -> ApiResult {
    use crate::domain::dossier::{Auteur, Evenement, Message};
    let record = authorize(app, req, id).await?;
    let Some(depot) = &record.depot else {
        return Err(ApiError::Conflict(
            "La messagerie s’ouvre une fois le dossier déposé.".into(),
        ));
    };
    let body = json_body(req)?;
    let texte = match body.get("texte") {
        Some(Value::String(t)) if !t.trim().is_empty() && t.chars().count() <= 5000 => {
            t.trim().replace("\r\n", "\n")
        }
        _ => {
            return Err(ApiError::Validation(vec![
                crate::domain::draft::FieldError::new(
                    "texte",
                    "Écrivez votre message (5 000 caractères au plus).",
                ),
            ]))
        }
    };
    if texte
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::Validation(vec![
            crate::domain::draft::FieldError::new(
                "texte",
                "Ce texte contient des caractères de contrôle.",
            ),
        ]));
    }
    let nom = format!("{} {}", depot.signataire.prenom, depot.signataire.nom);
    let m = Message {
        le: now(),
        auteur: Auteur::Collectivite,
        nom: nom.clone(),
        texte: texte.clone(),
    };
    let evt = Evenement {
        le: m.le.clone(),
        par: "collectivité".into(),
        action: "message envoyé à l’académie".into(),
        detail: None,
    };
    app.dossiers.add_message(&record.id, &m, &evt).await?;
    let sujet = format!(
        "Dossier n° {} : nouveau message de la collectivité",
        record.numero
    );
    let lien = format!(
        "{}/instructeur/dossiers/{}",
        app.config.public_base_url, record.id
    );
    let email_envoye = match crate::render::email::notification(
        &crate::render::email::NotificationData {
            sujet: &sujet,
            salutation: "Bonjour,",
            paragraphes: vec![
                format!(
                    "{nom} ({}) a écrit au sujet du dossier n° {} :",
                    depot
                        .collectivite
                        .nom
                        .as_deref()
                        .unwrap_or(&depot.collectivite.siret),
                    record.numero
                ),
                texte,
            ],
            lien_libelle: "Ouvrir le dossier",
            lien: &lien,
            signature: "Conventions ENT école / GAR",
        },
    ) {
        Ok(r) => app
            .mailer
            .send(&crate::ports::OutgoingEmail {
                from: app.config.sender_email.clone(),
                to: vec![app.config.contact_email.clone()],
                cc: Vec::new(),
                reply_to: depot.signataire.email.clone(),
                subject: r.subject,
                text: r.text,
                html: r.html,
            })
            .await
            .map_err(
                |e| tracing::error!(dossier = %record.id, error = %e, "notification email failed"),
            )
            .is_ok(),
        Err(_) => false,
    };
    Ok(json(
        201,
        &json!({"message": m, "email_envoye": email_envoye}),
    ))
}
