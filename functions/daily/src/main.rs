//! daily: EventBridge Scheduler, once a day (`make daily DATE=…` locally) → terminations taking
//! effect, term reminders, draft-expiry warnings (src/jobs/daily.rs).
use conventions_ent::jobs::daily::{run as daily, DailyEvent};
use conventions_ent::{
    app::init_tracing,
    secrets::{self, Secret},
    App,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app = App::connect(secrets::config(&[Secret::Link, Secret::Editeurs]).await?).await?;
    let app = &app;
    run(service_fn(|event: LambdaEvent<DailyEvent>| async move {
        let now = event.payload.now()?;
        Ok::<_, Error>(daily(app, &now).await?)
    }))
    .await
}
