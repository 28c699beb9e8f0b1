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
    /// The document is larger than the limit ([`MAX_DOCUMENT_BYTES`], or the caller's).
    #[error("document is larger than {limit} bytes, the most read into memory at once")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// The bytes as JSON text: gunzipped when they start with the gzip magic, else as they are.
pub fn plain(bytes: &[u8]) -> Result<Cow<'_, [u8]>, BytesError> {
    plain_within(bytes, MAX_DOCUMENT_BYTES)
}

/// [`plain`], refusing documents over `limit` bytes (a process's memory bound).
pub fn plain_within(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, BytesError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip_within(bytes, limit).map(Cow::Owned)
    } else if bytes.len() > limit {
        Err(BytesError::TooLarge { limit })
    } else {
        Ok(Cow::Borrowed(bytes))
    }
}

/// Gunzips, refusing output over [`MAX_DOCUMENT_BYTES`].
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, BytesError> {
    gunzip_within(bytes, MAX_DOCUMENT_BYTES)
}

/// Gunzips, refusing output over `limit` bytes: inflation stops one byte past the limit, so a
/// small bomb never grows past it. The output buffer starts at the size the gzip trailer
/// announces (ISIZE, the last member's size mod 2³²) when that is plausible and within the
/// limit, else at twice the input, and grows as needed; it never pre-allocates a guess of
/// many times the input.
pub fn gunzip_within(bytes: &[u8], limit: usize) -> Result<Vec<u8>, BytesError> {
    let announced = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map(|t| u32::from_le_bytes(t) as usize)
        .filter(|&n| n >= bytes.len() / 2 && n <= limit);
    let start = announced.unwrap_or_else(|| bytes.len().saturating_mul(2)).min(limit);
    let mut out = Vec::with_capacity(start);
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(limit as u64 + 1);
    reader.read_to_end(&mut out).map_err(BytesError::Gzip)?;
    if out.len() > limit {
        return Err(BytesError::TooLarge { limit });
    }
    Ok(out)
}
