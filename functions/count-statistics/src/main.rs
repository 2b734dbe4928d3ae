//! count-statistics: DynamoDB stream (a dossier deposited, changed or removed) → the counters
//! the figures read (`jobs::count`).
use aws_lambda_events::event::dynamodb::Event;
use conventions_ent::jobs::count::handle;
use conventions_ent::{app::init_tracing, secrets, App};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let counters = App::connect_counters(&secrets::config(&[]).await?).await;
    let counters = counters.as_ref();
    run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(handle(counters, &event.payload).await)
    }))
    .await
}
