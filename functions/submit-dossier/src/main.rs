//! submit-dossier: the applicant's dossier routes (HTTP API).
use conventions_ent::{app::init_tracing, config::Config, http, App};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(Config::from_env()?).await?;
    run(service_fn(|req| http::handle(&app, req))).await
}
