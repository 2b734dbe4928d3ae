//! Conventions ENT école / GAR: the library every Lambda and every test uses.
//!
//! - `domain`: types that parse, the dossier and its rules (no AWS);
//! - `ports`: the traits the handlers need; `adapters`: their AWS implementations;
//! - `http`: the API routes; `jobs`: the stream consumers;
//! - `render`: the convention PDF and the emails; `reference`: the school directory;
//! - `seal`: the académie's seal (CMS signature of the PDFs, its certificate; no AWS);
//! - `links` (the URLs given out) and `mail` (email envelopes), shared by `http` and `jobs`;
//! - `export`: the rows and files of the schools' export, shared by `http` and `jobs`;
//! - `config` (with `academie`, its départements) and `app`: read once, built once per cold
//!   start.
//!
//! Layers point one way: domain ← ports ← adapters / render / reference ← app, links, mail
//! ← export ← jobs / http ← functions.

pub mod academie;
pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
pub mod editeurs;
pub mod export;
pub mod http;
pub mod identification;
pub mod jobs;
pub mod links;
pub mod mail;
pub mod ports;
pub mod reference;
pub mod render;
pub mod seal;
pub mod secrets;

pub use app::App;
