//! Library errors: each says what went wrong and, where it can, what to do next.
//! Every text that came from outside (a path, a message from libpcap or the
//! OS) is escaped as it is displayed: a file name or a capture must not be
//! able to send control sequences to the terminal through an error.

use std::io;

use crate::escape::Escaped;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("cannot read {}: {}", Escaped(path), Escaped(reason))]
    Open { path: String, reason: String },

    #[error("cannot capture on {}: {}", Escaped(device), Escaped(reason))]
    Capture { device: String, reason: String },

    #[error(
        "{}: link type {} ({dlt}) is not supported; synack decodes EN10MB, LINUX_SLL, \
         LINUX_SLL2, NULL, LOOP and RAW/IPV4/IPV6 (convert other captures with editcap, or capture with -i any)",
        Escaped(path), Escaped(name)
    )]
    UnsupportedLink {
        path: String,
        name: String,
        dlt: i32,
    },

    #[error(
        "bad filter expression '{}': {} (see 'man pcap-filter' for the syntax)",
        Escaped(expr),
        Escaped(reason)
    )]
    Filter { expr: String, reason: String },

    #[error(
        "{}: capture ends in the middle of a record after frame {last_frame}: {}",
        Escaped(path),
        Escaped(reason)
    )]
    Truncated {
        path: String,
        last_frame: u64,
        reason: String,
    },

    #[error(
        "{}: read error after frame {last_frame}: {}",
        Escaped(path),
        Escaped(reason)
    )]
    Read {
        path: String,
        last_frame: u64,
        reason: String,
    },

    #[error("{0}")]
    Output(#[from] io::Error),

    #[error("could not drop privileges to uid {uid}: {source}")]
    Privileges {
        uid: u32,
        #[source]
        source: io::Error,
    },

    /// The demo's echo traffic could not run (a taken port, a failed client).
    #[error("{}", Escaped(.0))]
    Traffic(String),

    /// A mistake in how synack was called (exit status 2).
    #[error("{}", Escaped(.0))]
    Usage(String),
}

impl Error {
    /// Writing into a closed pipe (`synack … | head`) is a normal way to stop.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;
