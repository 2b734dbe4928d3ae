//! Conventions ENT école / GAR: the library every Lambda and every test uses.
//!
//! - `domain`: types that parse, the dossier and its rules (no AWS);
//! - `ports`: the traits the handlers need; `adapters`: their AWS implementations;
//! - `http`: the API routes; `jobs`: the stream consumers;
//! - `render`: the convention PDF and the emails; `reference`: the school directory;
//! - `config` and `app`: read once, built once per cold start.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod identification;
pub mod jobs;
pub mod ports;
pub mod reference;
pub mod render;

pub use app::App;
