//! submit-dossier: the applicant's dossier routes (HTTP API).
use conventions_ent::{
    app::init_tracing,
    http,
    secrets::{self, Secret},
    App,
};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let mut app = App::connect(secrets::config(&[Secret::Link, Secret::Origin]).await?).await?;
    // Only GET /api/conventions/certificat.pem needs the seal: without it that route answers
    // 503 and every other route works.
    if let Err(e) = app.load_seal().await {
        tracing::error!(error = %e, "seal not loaded: the certificate route answers 503");
    }
    run(service_fn(|req| http::handle(&app, req))).await
}
