//! `GET /api/conventions/certificat.pem`: the seal's certificate chain, public, so that anyone
//! holding a convention can check its signature (or add the chain to their reader's trust).

use super::problem::ApiError;
use super::response::ApiResult;
use crate::App;
use lambda_http::{Body, Response};

pub fn certificate_chain(app: &App) -> ApiResult {
    let Some(seal) = &app.seal else {
        return Err(ApiError::UnavailableWith(
            "Le certificat du sceau de l’académie n’est pas configuré : il ne peut pas être \
             téléchargé pour le moment."
                .into(),
        ));
    };
    // Public and the same for everyone; an hour of caching bounds how long a replaced chain
    // is still served from a cache.
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/x-pem-file")
        .header("cache-control", "public, max-age=3600")
        .header("content-disposition", "inline; filename=\"certificat.pem\"")
        .body(Body::Text(seal.chain_pem().to_string()))
        .expect("static headers are valid"))
}
