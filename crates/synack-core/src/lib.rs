//! synack-core: TCP as textbooks draw it, computed from captured frames.
//!
//! ```text
//! Frame ──▶ decode ──▶ Segment ──▶ track ──▶ Observation + Event* + Connection facts
//! (bytes,    (pure,               (pure; owns every fact: states, close kind,
//!  link type, zero-copy)           TIME_WAIT, keep-alives, resets, analysis)
//!  timestamp)
//! ```
//!
//! No I/O, no libpcap, no command line: frames go in as byte slices with a
//! link type and a timestamp, and out come what each header says
//! ([`decode`]), each segment's place in its connection with both
//! endpoints' RFC 9293 states ([`track::Observation`]), the events a
//! textbook would name ([`track::Event`]), and, when a connection ends, the
//! facts about it ([`track::Facts`]) that every view words the same way.
//!
//! [`Analyzer`] strings the two together for a stream of frames.
#![warn(missing_docs)]

pub mod analyzer;
pub mod counts;
pub mod decode;
pub mod pressure;
pub mod shard;
pub mod synth;
pub mod track;

pub use analyzer::{Analyzer, Packet, Sink};
pub use counts::Counts;
