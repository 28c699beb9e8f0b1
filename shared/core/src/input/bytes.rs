//! Bytes as JSON text: gzip, detected by its magic number, is inflated within a size limit. Every
//! document DriftGuard reads (events, CloudTrail log files, delivered Config items, state files)
//! goes through [`plain`].

use std::borrow::Cow;
use std::io::Read;

/// The largest document (after gunzip) the decoder accepts.
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024 * 1024;

/// Why bytes could not be read as a document.
#[derive(Debug, thiserror::Error)]
pub enum BytesError {
    /// Gzip framing or data is corrupt.
    #[error("not a valid gzip stream: {0}")]
    Gzip(#[source] std::io::Error),
    /// The document is larger than [`MAX_DOCUMENT_BYTES`].
    #[error("document is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// The bytes as JSON text: gunzipped when they start with the gzip magic, else as they are.
pub fn plain(bytes: &[u8]) -> Result<Cow<'_, [u8]>, BytesError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(bytes).map(Cow::Owned)
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Gunzips, refusing output over [`MAX_DOCUMENT_BYTES`].
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, BytesError> {
    let mut out = Vec::with_capacity(bytes.len() * 8);
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(MAX_DOCUMENT_BYTES as u64 + 1);
    reader.read_to_end(&mut out).map_err(BytesError::Gzip)?;
    if out.len() > MAX_DOCUMENT_BYTES {
        return Err(BytesError::TooLarge {
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    Ok(out)
}
