//! One integration-test binary: every test talks to the local AWS emulator through the real
//! SDK (moto), and presigned links are checked against s3s-fs. `make test` starts both.

mod helpers;
mod registry_fake;

mod chain;
mod convention;
mod deposit;
mod events;
mod hostile;
mod idempotency;
mod instructeur;
mod presign;
mod reference;
