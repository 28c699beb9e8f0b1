//! Input files: walking folders, reading (and gunzipping) files, the progress bar.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// Draw a progress bar when inputs total more than this many bytes.
const PROGRESS_BYTES: u64 = 16 * 1024 * 1024;

/// Files under `paths`, in a stable order: files as given, folders walked recursively for
/// `.json` and `.gz` files (skipping folders named `schema`), sorted by path.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            // JSON Schema files are documentation of events, not events.
            if !path.ends_with("schema") {
                walk(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "json" || e == "gz") {
            out.push(path);
        }
    }
    Ok(())
}

/// A file's bytes (gzip is handled by the decoder).
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// A byte-based progress bar on stderr, hidden for small inputs or when disabled.
pub fn progress(files: &[PathBuf], disabled: bool) -> ProgressBar {
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    if disabled || total < PROGRESS_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_bar}")
    {
        bar.set_style(style);
    }
    bar
}
