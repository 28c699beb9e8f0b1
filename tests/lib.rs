//! DriftGuard integration tests live in .
