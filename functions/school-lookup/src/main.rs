//! school-lookup: reference data routes (HTTP API).
use conventions_ent::{
    app::init_tracing,
    http::lookup,
    secrets::{self, Secret},
    App,
};
use lambda_http::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(secrets::config(&[Secret::Origin]).await?).await?;
    run(service_fn(|req| lookup::handle(&app, req))).await
}
