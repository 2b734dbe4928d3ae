//! school-lookup: reference data routes (HTTP API).
use conventions_ent::{app::init_tracing, config::Config, http::lookup, App};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(Config::from_env()?).await?;
    run(service_fn(|req| lookup::handle(&app, req))).await
}
