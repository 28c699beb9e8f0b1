//! DriftGuard's IaC pipeline adapter: sends the calls `driftguard_core::remediation` builds for
//! re-apply and accept — a GitHub Actions `workflow_dispatch`, a signed webhook to any other CI,
//! a GitHub issue holding the HCL of an accepted change — and reads what came back.
//!
//! ```no_run
//! # async fn demo(
//! #     routes: driftguard_core::remediation::PipelineRoutes,
//! #     finding: driftguard_core::finding::Finding,
//! #     request: driftguard_core::remediation::RemediationRequest,
//! #     secret_value: String,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use driftguard_core::secret::Secret;
//! use driftguard_pipelines::{Executed, PipelineClient};
//!
//! let call = routes.reapply_call(&finding, &request)?;
//! // The caller resolves `call.secret_ref()` (Secrets Manager, SSM) to the secret's value.
//! let client = PipelineClient::new()?;
//! if let Executed::Dispatched { run_url, .. } = client.execute(&call, &Secret::new(secret_value)).await? {
//!     println!("re-apply started: {}", run_url.as_deref().unwrap_or("no run link"));
//! }
//! # Ok(()) }
//! ```
//!
//! GitHub calls authenticate with a token, or with a GitHub App key (the secret is then JSON:
//! `{"app_id", "installation_id", "private_key"}`): the client signs an RS256 JWT with the key,
//! exchanges it for an installation token, and keeps that token until five minutes before it
//! expires. Webhook calls are signed on every attempt (`X-DriftGuard-Timestamp`,
//! `X-DriftGuard-Signature`; receivers check them with
//! `driftguard_core::remediation::verify_webhook`).
//!
//! Every call goes through one retry loop ([`RetryPolicy`]): HTTP 429 and GitHub's rate-limited
//! 403 wait what the server asks (or end at once, still retryable, when that is longer than the
//! policy allows); 5xx, 408, timeouts and connection failures are retried with full-jitter
//! exponential backoff; anything else (401, 404, 422, ...) fails at once. Errors say whether
//! retrying can help ([`PipelineError::retry`]). No `Debug` output, log line or error message
//! contains a token, a key, a signing secret or a minted installation token.

mod client;
mod error;
mod github_app;
mod retry;

pub use client::{Executed, PipelineClient, DEFAULT_TIMEOUT};
pub use error::{PipelineError, Retry, TransportKind};
pub use retry::RetryPolicy;
