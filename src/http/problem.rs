//! The one error type of the HTTP boundary, mapped to RFC 9457 problem+json in French.

use crate::domain::draft::FieldError;
use crate::ports::StoreError;
use lambda_http::{Body, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    BadRequest(String),
    /// No valid instructeur credentials.
    Unauthorized,
    /// Valid credentials without the `instructeurs` group.
    Forbidden,
    /// A signed call (the ENT editor's answer) whose Standard Webhooks signature is absent,
    /// wrong or stale: what is wrong, in French.
    Signature(&'static str),
    /// A request that did not come through the public address (see `http::front`).
    DirectAccess,
    /// Same answer for an unknown id and a wrong or missing jeton.
    NotFound,
    /// 404 with its own message, for public resources.
    NotFoundWith(String),
    /// With the methods the address accepts, for the `Allow` header.
    MethodNotAllowed(&'static str),
    /// The answer exists but not in a form the client accepts (an export too large uncompressed).
    NotAcceptable(String),
    Conflict(String),
    PayloadTooLarge,
    /// Same, with the route's own limit said.
    PayloadTooLargeWith(String),
    UnsupportedMediaType,
    Validation(Vec<FieldError>),
    /// A quota reached: `detail` says what to do and when, `retry_after` in seconds.
    TooManyRequests {
        detail: String,
        retry_after: u64,
    },
    /// AWS failed after the SDK's retries: nothing was half-written, the client may retry.
    Unavailable,
    /// Same, with what to do in this case.
    UnavailableWith(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                ApiError::Conflict("Le dossier a changé d’état entre-temps.".into())
            }
            StoreError::Unavailable(detail) => {
                tracing::error!(%detail, "storage unavailable");
                ApiError::Unavailable
            }
            StoreError::TooLarge { ecoles, octets } => {
                tracing::warn!(ecoles, octets, "dossier past its maximum size");
                ApiError::Validation(vec![crate::domain::draft::FieldError::new(
                    "ecoles",
                    format!(
                        "Ce dossier ne peut pas être enregistré : avec ses {ecoles} écoles, il \
                         dépasserait la taille maximale d’un dossier ({} Ko). Répartissez ces \
                         écoles sur deux dossiers (une convention pour chacun) ou écrivez à \
                         l’académie.",
                        crate::ports::MAX_DOSSIER_ITEM_BYTES / 1024
                    ),
                )])
            }
        }
    }
}

/// A step the domain refuses is a conflict with the dossier's state, said as the domain says it.
impl From<crate::domain::life::Refusal> for ApiError {
    fn from(r: crate::domain::life::Refusal) -> Self {
        use crate::domain::life::Refusal;
        match r {
            Refusal::Conflict(d) => ApiError::Conflict(d),
            Refusal::Field(f) => ApiError::Validation(vec![f]),
            Refusal::TooMany {
                detail,
                retry_after,
            } => ApiError::TooManyRequests {
                detail,
                retry_after: retry_after.max(1) as u64,
            },
        }
    }
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized | ApiError::Signature(_) => 401,
            ApiError::Forbidden | ApiError::DirectAccess => 403,
            ApiError::NotFound | ApiError::NotFoundWith(_) => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge | ApiError::PayloadTooLargeWith(_) => 413,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Validation(_) => 422,
            ApiError::TooManyRequests { .. } => 429,
            ApiError::Unavailable | ApiError::UnavailableWith(_) => 503,
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let (slug, title, detail) = match &self {
            ApiError::BadRequest(d) => ("requete-invalide", "Requête invalide", d.clone()),
            ApiError::Unauthorized => (
                "authentification-requise",
                "Authentification requise",
                "Connectez-vous avec votre compte instructeur pour accéder à cet espace.".into(),
            ),
            ApiError::Signature(d) => (
                "signature-invalide",
                "Signature refusée",
                d.to_string(),
            ),
            ApiError::PayloadTooLargeWith(d) => (
                "requete-trop-volumineuse",
                "Requête trop volumineuse",
                d.clone(),
            ),
            ApiError::Forbidden => (
                "acces-refuse",
                "Accès refusé",
                "Votre compte n’appartient pas au groupe des instructeurs.".into(),
            ),
            ApiError::DirectAccess => (
                "acces-direct-refuse",
                "Accès direct refusé",
                "Ce service s’utilise par son adresse publique : ouvrez-la dans votre navigateur.".into(),
            ),
            ApiError::NotFound => (
                "introuvable",
                "Introuvable",
                "Aucun dossier ne correspond à ce lien, ou le jeton d’accès est incorrect.".into(),
            ),
            ApiError::NotFoundWith(d) => ("introuvable", "Introuvable", d.clone()),
            ApiError::MethodNotAllowed(_) => {
                ("methode-non-autorisee", "Méthode non autorisée", "Cette méthode n’est pas acceptée sur cette adresse.".into())
            }
            ApiError::NotAcceptable(d) => ("non-acceptable", "Réponse trop volumineuse", d.clone()),
            ApiError::Conflict(d) => ("conflit", "Conflit", d.clone()),
            ApiError::PayloadTooLarge => (
                "requete-trop-volumineuse",
                "Requête trop volumineuse",
                "Le corps de la requête dépasse 64 Kio.".into(),
            ),
            ApiError::UnsupportedMediaType => (
                "type-de-contenu-non-supporte",
                "Type de contenu non supporté",
                "Le corps de la requête doit être du JSON (Content-Type: application/json).".into(),
            ),
            ApiError::Validation(errs) => (
                "validation",
                "Le dossier contient des erreurs",
                match errs.len() {
                    1 => "1 champ est à corriger.".to_string(),
                    n => format!("{n} champs sont à corriger."),
                },
            ),
            ApiError::TooManyRequests { detail, .. } => {
                ("trop-de-demandes", "Trop de demandes", detail.clone())
            }
            ApiError::UnavailableWith(d) => (
                "service-indisponible",
                "Service momentanément indisponible",
                d.clone(),
            ),
            ApiError::Unavailable => (
                "service-indisponible",
                "Service momentanément indisponible",
                "Le service est momentanément indisponible ; rien n’a été perdu. Réessayez dans quelques instants.".into(),
            ),
        };
        let mut body = json!({
            "type": format!("/problemes/{slug}"),
            "title": title,
            "status": status,
            "detail": detail,
        });
        if let ApiError::Validation(errs) = &self {
            body["errors"] = json!(errs);
        }
        let mut builder = Response::builder()
            .status(status)
            .header("content-type", "application/problem+json; charset=utf-8")
            .header("x-content-type-options", "nosniff")
            .header("cache-control", "no-store");
        if status == 503 {
            builder = builder.header("retry-after", "5");
        }
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            builder = builder.header("retry-after", retry_after.to_string());
        }
        if let ApiError::MethodNotAllowed(allow) = &self {
            builder = builder.header("allow", *allow);
        }
        if matches!(self, ApiError::Unauthorized) {
            builder = builder.header("www-authenticate", "Bearer");
        }
        builder
            .body(Body::Text(body.to_string()))
            .expect("static headers are valid")
    }
}
