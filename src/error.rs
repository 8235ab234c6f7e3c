//! Library errors: each says what went wrong and, where it can, what to do next.

use std::io;

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("cannot read {path}: {reason}")]
    Open { path: String, reason: String },

    #[error("cannot write {path}: {reason}")]
    Create { path: String, reason: String },

    /// A savefile write failed (disk full…): what was written is whole.
    #[error("{0}")]
    Save(String),

    #[error("cannot capture on {device}: {reason}")]
    Capture { device: String, reason: String },

    #[error(
        "{path}: link type {name} ({dlt}) is not supported{why}; synack decodes {supported} \
         (convert other captures with editcap, or capture with -i any)"
    )]
    UnsupportedLink {
        path: String,
        name: String,
        dlt: i32,
        /// Why not, when there is more to say (Juniper's encapsulations).
        why: String,
        /// libpcap's names of the link types synack decodes.
        supported: String,
    },

    #[error("bad filter expression '{expr}': {reason} (see 'man pcap-filter' for the syntax)")]
    Filter { expr: String, reason: String },

    #[error("{path}: capture ends in the middle of a record {}: {reason}", after_frame(*.last_frame))]
    Truncated {
        path: String,
        last_frame: u64,
        reason: String,
    },

    #[error("{path}: read error {}: {reason}", after_frame(*.last_frame))]
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
    #[error("{0}")]
    Traffic(String),

    /// A mistake in how synack was called (exit status 2).
    #[error("{0}")]
    Usage(String),
}

/// Where in a file an error came: "after frame N", or before any frame.
fn after_frame(n: u64) -> String {
    if n == 0 {
        "before its first frame".into()
    } else {
        format!("after frame {n}")
    }
}

impl From<crate::cli::UsageError> for Error {
    fn from(e: crate::cli::UsageError) -> Error {
        Error::Usage(e.0)
    }
}

impl Error {
    /// Writing into a closed pipe (`synack … | head`) is a normal way to stop.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;
