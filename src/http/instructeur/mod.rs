//! Instructeur routes (instructeur-api): dossier list and detail, decisions, messagerie, and the
//! export of conventioned schools for the ENT editor / AAF.

pub mod auth;

use super::problem::ApiError;
use super::{accepts_gzip, encoded, gzip, json, json_body, ApiResult};
use crate::domain::dossier::{
    retention_expiry, Auteur, Decision, DossierRecord, Evenement, Message, Statut,
};
use crate::domain::draft::FieldError;
use crate::domain::ids::{link_jeton, DossierId};
use crate::http::dossiers::{now, private_url, view};
use crate::ports::{ListFilter, OutgoingEmail, StoreError};
use crate::render::email::{notification, NotificationData};
use crate::App;
use auth::Instructeur;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{json, Value};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, std::convert::Infallible> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let result = match auth::authenticate(app, &req) {
        Err(e) => Err(e),
        Ok(who) => route(app, &req, &who, req.method().as_str(), &segments).await,
    };
    Ok(result.unwrap_or_else(ApiError::into_response))
}

async fn route(
    app: &App,
    req: &Request,
    who: &Instructeur,
    method: &str,
    segments: &[&str],
) -> ApiResult {
    match (method, segments) {
        ("GET", ["api", "instructeur", "dossiers"]) => list(app, req).await,
        ("GET", ["api", "instructeur", "dossiers", id]) => detail(app, id).await,
        ("POST", ["api", "instructeur", "dossiers", id, "decision"]) => {
            decide(app, req, who, id).await
        }
        ("POST", ["api", "instructeur", "dossiers", id, "messages"]) => {
            message(app, req, who, id).await
        }
        ("POST", ["api", "instructeur", "dossiers", id, "webhook"]) => {
            replay_webhook(app, who, id).await
        }
        ("GET", ["api", "instructeur", "export", file]) => export(app, req, file).await,
        ("GET", ["api", "instructeur", "statistiques"]) => statistics(app, req).await,
        (_, ["api", "instructeur", ..]) => Err(ApiError::BadRequest(format!(
            "Adresse inconnue : /{}",
            segments.join("/")
        ))),
        _ => Err(ApiError::BadRequest("Adresse inconnue.".into())),
    }
}

fn param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn date_param(req: &Request, name: &str, errs: &mut Vec<FieldError>) -> Option<String> {
    let v = param(req, name)?;
    if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok() {
        Some(v.to_string())
    } else {
        errs.push(FieldError::new(
            name,
            "Date attendue au format AAAA-MM-JJ (ex. : 2026-09-01).",
        ));
        None
    }
}

fn statut_param(req: &Request, errs: &mut Vec<FieldError>) -> Vec<Statut> {
    let Some(v) = param(req, "statut") else {
        return Vec::new();
    };
    v.split(',')
        .filter_map(|s| match serde_json::from_value::<Statut>(json!(s.trim())) {
            Ok(st) => Some(st),
            Err(_) => {
                errs.push(FieldError::new(
                    "statut",
                    format!("Statut inconnu « {} » : brouillon, en_construction, en_instruction, accepte, refuse, sans_suite.", s.trim()),
                ));
                None
            }
        })
        .collect()
}

fn filter_from(req: &Request) -> Result<ListFilter, ApiError> {
    let mut errs = Vec::new();
    let filter = ListFilter {
        statuts: statut_param(req, &mut errs),
        departement: param(req, "departement").map(str::to_string),
        commune: param(req, "commune").map(str::to_string),
        depose_du: date_param(req, "du", &mut errs)
            .or_else(|| date_param(req, "depuis", &mut errs)),
        depose_au: date_param(req, "au", &mut errs),
        texte: param(req, "q").map(|q| q.chars().take(100).collect()),
        chronologique: false,
    };
    if errs.is_empty() {
        Ok(filter)
    } else {
        Err(ApiError::Validation(errs))
    }
}

fn summary(r: &DossierRecord) -> Value {
    let d = r.depot.as_ref();
    let mut communes: Vec<String> = d
        .map(|d| d.ecoles.iter().map(|e| e.commune.clone()).collect())
        .unwrap_or_default();
    communes.dedup();
    json!({
        "id": r.id,
        "numero": r.numero,
        "statut": r.statut,
        "depose_le": r.depose_le,
        "modifie_le": r.modifie_le,
        "collectivite": d.map(|d| json!({"siret": d.collectivite.siret, "nom": d.collectivite.nom, "verifie": d.collectivite.verifie})),
        "ecoles": d.map(|d| d.ecoles.len()).unwrap_or(0),
        "communes": communes,
        "convention": r.convention.as_ref().map(|c| json!({"genere_le": c.genere_le, "code_verification": c.code_verification})),
        "accuse_envoye": r.accuse.is_some(),
        "messages": r.messages.len(),
        "webhook": r.webhook_etat.as_ref().map(|e| json!({"etat": e, "tentatives": r.webhook_tentatives.len()})),
    })
}

async fn list(app: &App, req: &Request) -> ApiResult {
    let filter = filter_from(req)?;
    let limit = param(req, "limite")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .clamp(1, 200);
    let (records, next) = match app
        .dossiers
        .list_deposited(&filter, param(req, "curseur"), limit)
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(ApiError::BadRequest(
                "Curseur de pagination invalide.".into(),
            ))
        }
        r => r?,
    };
    Ok(json(
        200,
        &json!({"dossiers": records.iter().map(summary).collect::<Vec<_>>(), "curseur_suivant": next}),
    ))
}

async fn load(app: &App, id: &str) -> Result<DossierRecord, ApiError> {
    let not_found =
        || ApiError::NotFoundWith(format!("Aucun dossier ne porte l’identifiant {id}."));
    let id = DossierId::parse(id).ok_or_else(not_found)?;
    app.dossiers.get(id.as_str()).await?.ok_or_else(not_found)
}

async fn detail(app: &App, id: &str) -> ApiResult {
    let r = load(app, id).await?;
    let mut v = view(app, &r);
    v["historique"] = json!(r.historique);
    v["messages"] = json!(r.messages);
    v["webhook"] = json!({"etat": r.webhook_etat, "tentatives": r.webhook_tentatives});
    // When the table's TTL will delete it (DOSSIER_RETENTION_DAYS), null when kept.
    v["expire_le"] = json!(r
        .expire_le
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
    if let Some(d) = &r.depot {
        v["signature"] = json!(d.signature);
    }
    Ok(json(200, &v))
}

fn text_field(
    body: &Value,
    champ: &str,
    required: bool,
    errs: &mut Vec<FieldError>,
) -> Option<String> {
    match body.get(champ) {
        None | Some(Value::Null) if !required => None,
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > 5000 {
                errs.push(FieldError::new(
                    champ,
                    "Ce texte est trop long (5 000 caractères au plus).",
                ));
                None
            } else if s
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
            {
                errs.push(FieldError::new(
                    champ,
                    "Ce texte contient des caractères de contrôle.",
                ));
                None
            } else {
                Some(s.trim().replace("\r\n", "\n"))
            }
        }
        _ => {
            errs.push(FieldError::new(champ, "Ce champ est obligatoire."));
            None
        }
    }
}

async fn decide(app: &App, req: &Request, who: &Instructeur, id: &str) -> ApiResult {
    let body = json_body(req)?;
    let mut errs = Vec::new();
    let decision = match body
        .get("action")
        .and_then(Value::as_str)
        .map(Decision::parse)
    {
        Some(Some(d)) => Some(d),
        _ => {
            errs.push(FieldError::new(
                "action",
                "Action attendue : passer_en_instruction, accepter, refuser, classer_sans_suite, repasser_en_instruction ou repasser_en_construction.",
            ));
            None
        }
    };
    let motif = text_field(
        &body,
        "motif",
        decision.is_some_and(Decision::needs_motif),
        &mut errs,
    );
    if let Some(o) = body.as_object() {
        for k in o
            .keys()
            .filter(|k| !["action", "motif"].contains(&k.as_str()))
        {
            errs.push(FieldError::new(
                k.chars().take(60).collect::<String>(),
                "Champ inconnu : les champs acceptés sont action et motif.",
            ));
        }
    }
    let Some(decision) = decision.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Validation(errs));
    };
    let r = load(app, id).await?;
    let to = decision.target();
    if !r.statut.can_become(to) {
        return Err(ApiError::Conflict(format!(
            "Action impossible : le dossier est « {} » et ne peut pas devenir « {} ».",
            r.statut.as_str(),
            to.as_str()
        )));
    }
    let evenement = Evenement {
        le: now(),
        par: who.email.clone(),
        action: decision.label().into(),
        detail: motif.clone(),
    };
    let expire_le = retention_expiry(
        to,
        r.once_accepted(),
        chrono::Utc::now().timestamp(),
        app.config.dossier_retention_days,
    );
    match app
        .dossiers
        .transition(&r.id, r.statut, to, &evenement, expire_le)
        .await
    {
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Le dossier a changé d’état entre-temps : rechargez-le.".into(),
            ))
        }
        other => other?,
    }
    if decision == Decision::Accepter && app.config.webhook_url.is_some() {
        schedule_webhook(app, who, &r.id, "webhook de l’éditeur ENT programmé").await?;
    }
    let mut paragraphes = vec![format!(
        "Votre dossier n° {} de conventionnement ENT école / GAR : {}.",
        r.numero,
        decision.label()
    )];
    if let Some(m) = &motif {
        paragraphes.push(format!("Motif : {m}"));
    }
    let email_envoye = notify_collectivite(
        app,
        &r,
        &format!("Dossier n° {} : {}", r.numero, decision.label()),
        paragraphes,
    )
    .await;
    let updated = load(app, id).await?;
    let mut v = summary(&updated);
    v["email_envoye"] = json!(email_envoye);
    Ok(json(200, &v))
}

async fn schedule_webhook(
    app: &App,
    who: &Instructeur,
    id: &str,
    action: &str,
) -> Result<(), ApiError> {
    let evt = Evenement {
        le: now(),
        par: who.email.clone(),
        action: action.into(),
        detail: None,
    };
    match app.dossiers.request_webhook(id, &evt).await {
        Err(StoreError::Conflict) => Err(ApiError::Conflict(
            "Seul un dossier accepté est transmis à l’éditeur ENT.".into(),
        )),
        r => r.map_err(ApiError::from),
    }
}

/// Sends the webhook again (after an outage of the editor, or on its request).
async fn replay_webhook(app: &App, who: &Instructeur, id: &str) -> ApiResult {
    if app.config.webhook_url.is_none() {
        return Err(ApiError::Conflict(
            "Aucun webhook d’éditeur ENT n’est configuré.".into(),
        ));
    }
    let r = load(app, id).await?;
    if r.webhook_etat.as_deref() == Some(crate::jobs::webhook::A_ENVOYER) {
        return Err(ApiError::Conflict(
            "Une transmission est déjà en cours pour ce dossier.".into(),
        ));
    }
    schedule_webhook(app, who, &r.id, "webhook de l’éditeur ENT reprogrammé").await?;
    Ok(json(
        202,
        &json!({"webhook_etat": crate::jobs::webhook::A_ENVOYER, "tentatives": r.webhook_tentatives.len()}),
    ))
}

async fn message(app: &App, req: &Request, who: &Instructeur, id: &str) -> ApiResult {
    let body = json_body(req)?;
    let mut errs = Vec::new();
    let texte = text_field(&body, "texte", true, &mut errs);
    let Some(texte) = texte.filter(|_| errs.is_empty()) else {
        return Err(ApiError::Validation(errs));
    };
    let r = load(app, id).await?;
    let m = Message {
        le: now(),
        auteur: Auteur::Instructeur,
        nom: who.email.clone(),
        texte: texte.clone(),
    };
    let evt = Evenement {
        le: m.le.clone(),
        par: who.email.clone(),
        action: "message envoyé à la collectivité".into(),
        detail: None,
    };
    app.dossiers.add_message(&r.id, &m, &evt).await?;
    let email_envoye = notify_collectivite(
        app,
        &r,
        &format!("Dossier n° {} : nouveau message de l’académie", r.numero),
        vec![
            "L’académie vous a écrit au sujet de votre dossier :".into(),
            texte,
        ],
    )
    .await;
    Ok(json(
        201,
        &json!({"message": m, "email_envoye": email_envoye}),
    ))
}

/// Emails the signatory (référent in copy) with a link to the private page; the decision or
/// message is recorded whatever happens to the email, which is logged when it fails.
pub async fn notify_collectivite(
    app: &App,
    r: &DossierRecord,
    sujet: &str,
    paragraphes: Vec<String>,
) -> bool {
    let Some(depot) = &r.depot else { return false };
    let Some(id) = DossierId::parse(&r.id) else {
        return false;
    };
    let lien = private_url(
        app,
        &r.id,
        &link_jeton(app.config.link_secret.as_bytes(), &id),
    );
    let salutation = format!(
        "Bonjour {} {},",
        depot.signataire.prenom, depot.signataire.nom
    );
    let rendered = notification(&NotificationData {
        sujet,
        salutation: &salutation,
        paragraphes,
        lien_libelle: "Voir le dossier et répondre",
        lien: &lien,
        signature: &app.config.academie.nom,
    });
    let Ok(rendered) = rendered else { return false };
    let email = OutgoingEmail {
        from: app.config.sender_email.clone(),
        to: vec![depot.signataire.email.clone()],
        cc: depot.referent.iter().map(|x| x.email.clone()).collect(),
        reply_to: app.config.contact_email.clone(),
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
    };
    match app.mailer.send(&email).await {
        Ok(_) => true,
        Err(e) => {
            tracing::error!(dossier = %r.id, error = %e, "notification email failed");
            false
        }
    }
}

/// One CSV field, quoted when needed (`;` separator, as spreadsheet software in France expects).
fn csv_field(s: &str) -> String {
    let s = crate::domain::text::single_line(s);
    if s.contains([';', '"']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

const EXPORT_COLUMNS: [&str; 9] = [
    "uai",
    "nom_ecole",
    "commune",
    "code_insee",
    "siret_collectivite",
    "nom_collectivite",
    "numero_dossier",
    "date_convention",
    "statut",
];

async fn export(app: &App, req: &Request, file: &str) -> ApiResult {
    let csv = match file {
        "ecoles.csv" => true,
        "ecoles.json" => false,
        _ => {
            return Err(ApiError::NotFoundWith(
                "Exports disponibles : ecoles.csv et ecoles.json.".into(),
            ))
        }
    };
    let mut filter = filter_from(req)?;
    filter.chronologique = true;
    if filter.statuts.is_empty() {
        filter.statuts = Statut::DEPOSITED
            .into_iter()
            .filter(|s| s.conventioned())
            .collect();
    }
    let mut rows: Vec<[String; 9]> = Vec::new();
    for r in &all_deposited(app, &filter).await? {
        let Some(d) = &r.depot else { continue };
        let date = r
            .convention
            .as_ref()
            .map(|c| c.genere_le.clone())
            .or_else(|| r.depose_le.clone())
            .unwrap_or_default();
        for e in &d.ecoles {
            rows.push([
                e.uai.clone(),
                e.nom.clone(),
                e.commune.clone(),
                e.code_insee.clone(),
                d.collectivite.siret.clone(),
                d.collectivite.nom.clone().unwrap_or_default(),
                r.numero.clone(),
                date.chars().take(10).collect(),
                r.statut.as_str().to_string(),
            ]);
        }
    }
    let name = format!(
        "ecoles-conventionnees-{}",
        chrono::Utc::now().format("%Y-%m-%d")
    );
    let (content_type, body, ext) = if csv {
        let mut out = String::with_capacity(rows.len() * 160 + 200);
        out.push('\u{feff}'); // BOM: spreadsheet software then reads UTF-8 accents right
        out.push_str(&EXPORT_COLUMNS.join(";"));
        out.push_str("\r\n");
        for r in &rows {
            out.push_str(&r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(";"));
            out.push_str("\r\n");
        }
        ("text/csv; charset=utf-8", out, "csv")
    } else {
        let items: Vec<Value> = rows
            .iter()
            .map(|r| {
                Value::Object(
                    EXPORT_COLUMNS
                        .iter()
                        .zip(r)
                        .map(|(k, v)| (k.to_string(), json!(v)))
                        .collect(),
                )
            })
            .collect();
        (
            "application/json; charset=utf-8",
            Value::Array(items).to_string(),
            "json",
        )
    };
    deliver(
        body,
        content_type,
        &format!("{name}.{ext}"),
        accepts_gzip(req),
        MAX_UNCOMPRESSED,
    )
}

/// Every deposited dossier the filter selects, page after page (exports, figures).
async fn all_deposited(app: &App, filter: &ListFilter) -> Result<Vec<DossierRecord>, ApiError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = app
            .dossiers
            .list_deposited(filter, cursor.as_deref(), 200)
            .await?;
        all.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return Ok(all),
        }
    }
}

/// `GET /api/instructeur/statistiques`: how the dossiers the list's filters select (the statut
/// filter aside: the figures are per statut) are spread over the statuts, and how many
/// collectivités and schools they cover. The académie follows its campaign from it.
async fn statistics(app: &App, req: &Request) -> ApiResult {
    let mut filter = filter_from(req)?;
    filter.statuts.clear();
    let records = all_deposited(app, &filter).await?;
    let mut par_statut: std::collections::BTreeMap<&str, usize> =
        Statut::DEPOSITED.iter().map(|s| (s.as_str(), 0)).collect();
    let mut collectivites = std::collections::BTreeSet::new();
    let mut signed = std::collections::BTreeSet::new();
    let mut accepted = std::collections::BTreeSet::new();
    for r in &records {
        if let Some(n) = par_statut.get_mut(r.statut.as_str()) {
            *n += 1;
        }
        let Some(d) = &r.depot else { continue };
        collectivites.insert(d.collectivite.siret.as_str());
        if r.statut.conventioned() {
            signed.extend(d.ecoles.iter().map(|e| e.uai.as_str()));
        }
        if r.statut == Statut::Accepte {
            accepted.extend(d.ecoles.iter().map(|e| e.uai.as_str()));
        }
    }
    Ok(json(
        200,
        &json!({
            "dossiers": records.len(),
            "par_statut": par_statut,
            "collectivites": collectivites.len(),
            "ecoles": {"conventionnees": signed.len(), "acceptees": accepted.len()},
        }),
    ))
}

/// Largest uncompressed export answered: a Lambda response carries 6 MB, JSON escaping
/// included.
const MAX_UNCOMPRESSED: usize = 5_000_000;

/// The export file as the answer. Compressed when the client takes it (browsers, `curl
/// --compressed`): tens of thousands of rows stay far below Lambda's 6 MB response limit, and
/// the bytes reach the client as written (lambda_http re-decodes uncompressed text bodies, which
/// drops the CSV's leading BOM: encoding_rs strips it). Uncompressed beyond `limit`, a 406 says
/// how to get it, rather than a response Lambda would refuse.
fn deliver(
    body: String,
    content_type: &str,
    file_name: &str,
    gzip_ok: bool,
    limit: usize,
) -> ApiResult {
    if !gzip_ok && body.len() > limit {
        return Err(ApiError::NotAcceptable(format!(
            "L’export fait {:.1} Mo non compressé, plus qu’une réponse ne peut porter : \
             demandez-le compressé (en-tête Accept-Encoding: gzip, par exemple curl --compressed) \
             ou réduisez-le avec le paramètre depuis.",
            body.len() as f64 / 1e6
        )));
    }
    let b = Response::builder()
        .status(200)
        .header("content-type", content_type)
        .header(
            "content-disposition",
            format!("attachment; filename=\"{file_name}\""),
        )
        .header("cache-control", "no-store");
    let gzipped = gzip_ok.then(|| gzip(body.as_bytes(), flate2::Compression::fast()));
    Ok(encoded(b, gzipped, || Body::Text(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_export_goes_compressed_or_says_how_to_get_it() {
        let csv = "\u{feff}uai;nom\r\n".repeat(10);
        let refused = deliver(csv.clone(), "text/csv", "e.csv", false, 50).unwrap_err();
        assert_eq!(refused.status(), 406);
        let Body::Text(problem) = refused.into_response().into_body() else {
            panic!("problem+json text");
        };
        assert!(problem.contains("Accept-Encoding: gzip"), "{problem}");

        let zipped = deliver(csv.clone(), "text/csv", "e.csv", true, 50).unwrap();
        assert_eq!(zipped.headers()["content-encoding"], "gzip");
        let Body::Binary(bytes) = zipped.body() else {
            panic!("gzip bytes");
        };
        let mut back = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut back)
            .unwrap();
        assert_eq!(back, csv, "byte for byte, BOM included");

        let small = deliver(csv.clone(), "text/csv", "e.csv", false, 10_000).unwrap();
        assert_eq!(small.status(), 200);
        assert!(small.headers().get("content-encoding").is_none());
    }
}
