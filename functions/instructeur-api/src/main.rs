//! instructeur-api: the académie's routes (HTTP API, behind the JWT authorizer).
use conventions_ent::{
    app::init_tracing,
    http::instructeur,
    secrets::{self, Secret},
    App,
};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(
        secrets::config(&[
            Secret::Link,
            Secret::Origin,
            Secret::EditorAnswer,
            Secret::Editeurs,
        ])
        .await?,
    )
    .await?;
    run(service_fn(|req| instructeur::handle(&app, req))).await
}
