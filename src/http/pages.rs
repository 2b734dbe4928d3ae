//! The public pages (start page, form, private dossier page), their static assets, and the
//! convention preview of the form's section 4. Served by submit-dossier, so `make run` and AWS
//! answer the same bytes. The pages hold no personal data: the form reads the jeton from the
//! query string in the browser and calls the JSON API with `Authorization: Bearer`.

mod assets;

use super::dossiers::authorize;
use super::problem::ApiError;
use super::request::accepts_gzip;
use super::response::{encoded, gzip, json, ApiResult};
use crate::domain::deposit::unnamed_collectivite;
use crate::domain::dossier::DossierRecord;
use crate::domain::school::SchoolDirectory;
use crate::domain::siret::Siret;
use crate::domain::uai::Uai;
use crate::identification::identify;
use crate::render::blocks::{fill, parse, Block};
use crate::render::convention::APPROVAL_STATEMENT;
use crate::render::{convention_text, current_version};
use crate::App;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// One embedded file of web/dist/ (see web/build.mjs, which writes `assets.rs`).
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub raw: &'static [u8],
    pub gzip: Option<&'static [u8]>,
}

/// No inline script or style; nothing from elsewhere; never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers every page and asset carries. Private links carry the jeton: no referrer.
fn secured(status: u16) -> lambda_http::http::response::Builder {
    secured_with(status, CSP)
}

/// The same with a page's own policy (the instructeur page also calls its sign-in's token
/// endpoint).
fn secured_with(status: u16, csp: &str) -> lambda_http::http::response::Builder {
    Response::builder()
        .status(status)
        .header("content-security-policy", csp)
        .header("referrer-policy", "no-referrer")
        .header("x-content-type-options", "nosniff")
        .header("x-frame-options", "DENY")
        .header("cross-origin-opener-policy", "same-origin")
        .header(
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        )
}

fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.set_trim_blocks(true);
        for (name, src) in [
            ("base.html", include_str!("../../templates/pages/base.html")),
            (
                "start.html",
                include_str!("../../templates/pages/start.html"),
            ),
            ("form.html", include_str!("../../templates/pages/form.html")),
            (
                "verification.html",
                include_str!("../../templates/pages/verification.html"),
            ),
            (
                "instructeur.html",
                include_str!("../../templates/pages/instructeur.html"),
            ),
            (
                "accessibilite.html",
                include_str!("../../templates/pages/accessibilite.html"),
            ),
            (
                "donnees-personnelles.html",
                include_str!("../../templates/pages/donnees-personnelles.html"),
            ),
            (
                "mentions-legales.html",
                include_str!("../../templates/pages/mentions-legales.html"),
            ),
        ] {
            env.add_template(name, src).expect("page templates parse");
        }
        env
    })
}

/// A page as rendered for this process (its only inputs are the configuration and the asset
/// version), with its gzip twin.
struct Rendered {
    html: String,
    gzip: Vec<u8>,
    csp: String,
}

fn rendered(app: &App, template: &'static str) -> Result<&'static Rendered, ApiError> {
    static START: OnceLock<Rendered> = OnceLock::new();
    static FORM: OnceLock<Rendered> = OnceLock::new();
    static VERIFICATION: OnceLock<Rendered> = OnceLock::new();
    static INSTRUCTEUR: OnceLock<Rendered> = OnceLock::new();
    static ACCESSIBILITE: OnceLock<Rendered> = OnceLock::new();
    static DONNEES: OnceLock<Rendered> = OnceLock::new();
    static MENTIONS: OnceLock<Rendered> = OnceLock::new();
    let cell = match template {
        "start.html" => &START,
        "verification.html" => &VERIFICATION,
        "instructeur.html" => &INSTRUCTEUR,
        "accessibilite.html" => &ACCESSIBILITE,
        "donnees-personnelles.html" => &DONNEES,
        "mentions-legales.html" => &MENTIONS,
        _ => &FORM,
    };
    if let Some(r) = cell.get() {
        return Ok(r);
    }
    let sign_in = app.config.sign_in.as_ref();
    let ctx = json!({
        "assets": format!("/assets/{}", assets::VERSION),
        "academie": app.config.academie.nom,
        "approbation": APPROVAL_STATEMENT,
        "version_texte": current_version(),
        "connexion": sign_in.map(|s| json!({"origine": s.origin, "client": s.client_id})),
        // The legal pages: each DSDEN's address and contact, the retention the settings give.
        "departements": app.config.academie.departements.values().map(|d| json!({
            "code": d.code, "adresse": d.adresse, "contact_email": d.contact_email,
        })).collect::<Vec<_>>(),
        "conservation_jours": app.config.dossier_retention_days,
        "brouillon_jours": crate::domain::steps::DRAFT_LIFETIME_DAYS,
    });
    let csp = match sign_in {
        Some(s) if template == "instructeur.html" => CSP.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {}", s.origin),
        ),
        _ => CSP.to_string(),
    };
    let html = templates()
        .get_template(template)
        .and_then(|t| t.render(&ctx))
        .map_err(|e| {
            tracing::error!(error = %e, template, "page template failed");
            ApiError::Unavailable
        })?;
    let gzip = gzip(html.as_bytes(), flate2::Compression::best());
    Ok(cell.get_or_init(|| Rendered { html, gzip, csp }))
}

fn page(app: &App, req: &Request, template: &'static str) -> ApiResult {
    let r = rendered(app, template)?;
    let b = secured_with(200, &r.csp)
        .header("content-type", "text/html; charset=utf-8")
        .header("cache-control", "no-store");
    Ok(encoded(
        b,
        accepts_gzip(req).then(|| r.gzip.clone()),
        || Body::Text(r.html.clone()),
    ))
}

/// `GET /`: what the procedure is for, how long it takes, « Commencer la démarche ».
pub fn start(app: &App, req: &Request) -> ApiResult {
    page(app, req, "start.html")
}

/// `GET /demarche` (new dossier, created on the first autosave) and `GET /dossiers/{id}`
/// (the form while a draft, the summary once deposited): one page, the script decides.
pub fn form(app: &App, req: &Request) -> ApiResult {
    page(app, req, "form.html")
}

/// `GET /verification/{code}`: the public check of a printed convention (the code is read by
/// the script, which calls `GET /api/conventions/verification/{code}`).
pub fn verification(app: &App, req: &Request) -> ApiResult {
    page(app, req, "verification.html")
}

/// `GET /accessibilite`, `/donnees-personnelles`, `/mentions-legales`: what a public service
/// owes its users, filled from the académie's configuration.
pub fn legal(app: &App, req: &Request, name: &str) -> ApiResult {
    let template = match name {
        "accessibilite" => "accessibilite.html",
        "donnees-personnelles" => "donnees-personnelles.html",
        _ => "mentions-legales.html",
    };
    page(app, req, template)
}

/// `GET /instructeur` (sign-in, then the dossier list) and `GET /instructeur/dossiers/{id}`:
/// the académie's pages. They hold no data: the script calls `/api/instructeur/…` with the
/// instructeur's token (`Authorization: Bearer`), kept in the tab's sessionStorage.
pub fn instructeur(app: &App, req: &Request) -> ApiResult {
    page(app, req, "instructeur.html")
}

/// `GET /assets/{version}/{name}`: embedded files, gzip when the client takes it, cached
/// for a year (the version changes with any file). An old version is still served, briefly
/// cached, so a page loaded just before a deployment keeps its look.
pub fn asset(req: &Request, version: &str, name: &str) -> ApiResult {
    let Some(a) = assets::FILES.iter().find(|a| a.name == name) else {
        return Ok(secured(404)
            .header("content-type", "text/plain; charset=utf-8")
            .header("cache-control", "no-store")
            .body(Body::Text("Fichier introuvable.".into()))
            .expect("static headers are valid"));
    };
    let cache = if version == assets::VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let b = secured(200)
        .header("content-type", a.content_type)
        .header("cache-control", cache);
    Ok(encoded(
        b,
        a.gzip.filter(|_| accepts_gzip(req)).map(<[u8]>::to_vec),
        || Body::Binary(a.raw.to_vec()),
    ))
}

/// `GET /api/dossiers/{id}/apercu`: the convention text that will be signed, filled with what
/// the dossier holds now, as blocks (`titre`, `intertitre`, `paragraphe`, `liste`,
/// `signature`, `ecoles`). Same template and same fallbacks as the PDF; missing fields show
/// as bracketed placeholders.
pub async fn apercu(app: &App, req: &Request, id: &str) -> ApiResult {
    let record = authorize(app, req, id).await?;
    let version = record
        .depot
        .as_ref()
        .map(|d| d.signature.version_texte.clone())
        .unwrap_or_else(|| current_version().to_string());
    let text = convention_text(&version).ok_or(ApiError::Unavailable)?;
    let data = preview_data(app, &record, &version).await;
    let filled = fill(text, &data).map_err(|e| {
        tracing::error!(error = %e, "convention preview failed");
        ApiError::Unavailable
    })?;
    Ok(json(
        200,
        &json!({
            "version_texte": version,
            "blocs": blocks(&filled, &data),
        }),
    ))
}

/// The draft's habilitation as it will print, or a placeholder while incomplete.
fn draft_habilitation(h: Option<&crate::domain::draft::DraftHabilitation>) -> String {
    let mut ignored = Vec::new();
    let now = crate::domain::time::Now::system().stamp();
    crate::domain::habilitation::validate(h, &now, &mut ignored)
        .map(|h| h.printed())
        .unwrap_or_else(|| {
            "agissant en vertu de [délibération ou délégation, sa référence et sa date]".into()
        })
}

fn or_placeholder(v: Option<&str>, placeholder: &str) -> String {
    match v.map(str::trim) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => format!("[{placeholder}]"),
    }
}

/// What the template needs, from the deposit once there is one, else from the draft.
async fn preview_data(app: &App, r: &DossierRecord, version: &str) -> Value {
    let academie = &app.config.academie;
    let dsden = app.dsden(r);
    let mut data = json!({
        "numero": r.numero,
        "version_texte": version,
        "academie": {
            "nom": academie.nom,
            "dasen_nom": dsden.dasen_nom,
            "dasen_titre": dsden.dasen_titre,
            "adresse": dsden.adresse,
        },
    });
    if let Some(d) = &r.depot {
        let c = &d.collectivite;
        data["collectivite"] = json!({
            "nom": c.display_name(),
            "siret": c.siret,
            "adresse": c.adresse,
        });
        data["signataire"] = json!(d.signataire);
        data["habilitation"] = json!(d
            .signataire
            .habilitation
            .as_ref()
            .map(|h| h.printed())
            .unwrap_or_else(|| "dûment habilité(e)".into()));
        data["referent"] = json!(d.referent);
        data["ecoles"] = json!(d.ecoles);
        return data;
    }
    let b = &r.brouillon;
    let siret = b.collectivite.as_ref().and_then(|c| c.siret.as_deref());
    // Identified as the deposit will identify it (reference data, then the company registry).
    let (nom, adresse) = match siret.map(Siret::parse) {
        Some(Ok(s)) => {
            let who = identify(&app.directory(), app.registry.as_ref(), &s).await;
            (
                who.nom.unwrap_or_else(|| unnamed_collectivite(s.siren())),
                who.adresse,
            )
        }
        _ => ("[collectivité]".to_string(), None),
    };
    data["collectivite"] = json!({
        "nom": nom,
        "siret": or_placeholder(siret, "SIRET"),
        "adresse": adresse,
    });
    let s = b.signataire.clone().unwrap_or_default();
    data["habilitation"] = json!(draft_habilitation(s.habilitation.as_ref()));
    data["signataire"] = json!({
        "prenom": or_placeholder(s.prenom.as_deref(), "prénom du signataire"),
        "nom": or_placeholder(s.nom.as_deref(), "nom du signataire"),
        "qualite": or_placeholder(s.qualite.as_deref(), "qualité du signataire"),
        "email": or_placeholder(s.email.as_deref(), "adresse électronique du signataire"),
    });
    let rf = b.referent.clone().unwrap_or_default();
    data["referent"] = if rf.designe == Some(true) {
        json!({
            "prenom_nom": or_placeholder(rf.prenom_nom.as_deref(), "prénom et NOM du référent"),
            "email": or_placeholder(rf.email.as_deref(), "adresse électronique du référent"),
        })
    } else {
        Value::Null
    };
    let directory = app.directory();
    let ecoles: Vec<Value> = b
        .ecoles
        .iter()
        .flatten()
        .filter_map(|e| Uai::parse(e.uai.as_deref()?).ok())
        .filter_map(|u| directory.ecole(&u))
        .map(|e| json!({"uai": e.uai, "nom": e.nom, "commune": e.commune, "code_insee": e.code_insee}))
        .collect();
    data["ecoles"] = Value::Array(ecoles);
    data
}

/// The filled text's blocks (the PDF's own cutting) as the preview's JSON.
fn blocks(filled: &str, data: &Value) -> Vec<Value> {
    parse(filled)
        .into_iter()
        .filter_map(|block| {
            Some(match block {
                Block::SautDePage => return None,
                Block::Ecoles => json!({"type": "ecoles", "ecoles": data["ecoles"]}),
                Block::Signature => {
                    let s = &data["signataire"];
                    let str_of = |v: &Value| v.as_str().unwrap_or("").to_string();
                    json!({
                        "type": "signature",
                        "texte": format!(
                            "Signé électroniquement par {} {}, {}, à la date du dépôt du dossier.",
                            str_of(&s["prenom"]),
                            str_of(&s["nom"]).to_uppercase(),
                            str_of(&s["qualite"]),
                        ),
                        "approbation": format!("« {APPROVAL_STATEMENT} »"),
                    })
                }
                Block::Titre(t) => json!({"type": "titre", "texte": t}),
                Block::Intertitre(t) => json!({"type": "intertitre", "texte": t}),
                Block::Liste(items) => json!({"type": "liste", "items": items}),
                Block::Paragraphe(p) => json!({"type": "paragraphe", "texte": p}),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_embedded_once_with_a_type() {
        let mut names: Vec<_> = assets::FILES.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), assets::FILES.len());
        for a in assets::FILES {
            assert!(
                !a.raw.is_empty() && !a.content_type.is_empty(),
                "{}",
                a.name
            );
        }
        for needed in [
            "dsfr.min.css",
            "app.js",
            "instructeur.js",
            "app.css",
            "Marianne-Regular.woff2",
        ] {
            assert!(names.contains(&needed), "{needed}");
        }
    }

    #[test]
    fn the_page_templates_render() {
        for t in [
            "start.html",
            "form.html",
            "verification.html",
            "instructeur.html",
        ] {
            let html = templates()
                .get_template(t)
                .unwrap()
                .render(json!({"assets": "/assets/x", "academie": "Académie de Rennes", "approbation": APPROVAL_STATEMENT, "version_texte": "v"}))
                .unwrap();
            let script = if t == "instructeur.html" {
                "/assets/x/instructeur.js"
            } else {
                "/assets/x/app.js"
            };
            assert!(html.contains(script), "{t}");
            assert!(
                !html.contains("<script>") && !html.contains(" style="),
                "{t}: inline code"
            );
        }
    }

    #[test]
    fn blocks_follow_the_pdf_cutting() {
        let data = json!({"ecoles": [{"uai": "0350122T"}], "signataire": {"prenom": "Camille", "nom": "Martin", "qualite": "Maire"}});
        let b = blocks(
            "# Titre\n\n## Article\n\nUn  paragraphe\nsur deux lignes\n\n- a ;\n- b.\n\n[[signature]]\n\n[[saut_de_page]]\n\n[[annexe_ecoles]]",
            &data,
        );
        let types: Vec<_> = b.iter().map(|x| x["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "titre",
                "intertitre",
                "paragraphe",
                "liste",
                "signature",
                "ecoles"
            ]
        );
        assert_eq!(b[2]["texte"], "Un paragraphe sur deux lignes");
        assert!(b[4]["texte"]
            .as_str()
            .unwrap()
            .contains("Camille MARTIN, Maire"));
    }
}
