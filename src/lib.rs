//! synack: a packet-level TCP protocol inspector.
//!
//! # Layout
//! The modules follow the data, left to right:
//!
//! ```text
//! capture ──▶ decode ──▶ track ──▶ render
//! (libpcap)   (bytes →   (segments →  (lines | json)
//!              Segment)   connections)
//! ```
//!
//! - [`capture`]: the only module that talks to libpcap; yields [`decode::Frame`]s.
//! - [`decode`]: link, network and TCP headers → [`decode::Segment`]; pure, no allocation.
//! - [`track`]: connections keyed by 4-tuple, sides, relative sequence bases.
//! - [`render`]: tcpdump-style lines and JSON Lines.
//! - [`app`]: the pipeline that strings them together; [`cli`]: arguments.
//! - [`echo`]: the bundled echo server/client traffic generator (with
//!   capture, the only module that does I/O); [`kernel`]: the kernel's socket table.

pub mod annotate;
pub mod app;
pub mod capture;
pub mod cli;
pub mod decode;
pub mod demo;
pub mod echo;
pub mod error;
pub mod kernel;
pub mod render;
pub mod track;

pub use error::{Error, Result};
