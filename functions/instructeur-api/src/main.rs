//! instructeur-api: the académie's routes (HTTP API, behind the JWT authorizer).
use conventions_ent::{app::init_tracing, config::Config, http::instructeur, App};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(Config::from_env()?).await?;
    run(service_fn(|req| instructeur::handle(&app, req))).await
}
