//! Re-apply and accept, as data: which IaC pipeline owns a finding's Terraform state
//! ([`PipelineRoutes`]), the call that starts it (a GitHub Actions `workflow_dispatch`, or a
//! signed webhook), and the call that opens a GitHub issue holding the HCL of an accepted change.
//!
//! Nothing here sends anything or reads a secret. Each builder returns an [`HttpCall`]: method,
//! URL, headers without credentials, the JSON body, and in [`HttpCall::auth`] the *reference* of
//! the secret the sender needs (a Secrets Manager ARN, an SSM parameter name). The
//! `driftguard-pipelines` adapter resolves nothing itself either: it is handed the call and the
//! secret's value, adds the credentials (a bearer token, or [`webhook_signature`] headers) and
//! sends. A dry-run request builds the same call, to be reported rather than sent.
//!
//! A webhook receiver checks a call with [`verify_webhook`]: `X-DriftGuard-Signature` is
//! `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` and `X-DriftGuard-Timestamp` the Unix
//! time in seconds it was signed at.
//!
//! The routes are JSON, first match wins:
//!
//! ```json
//! [
//!   {"state": "s3://tf-states/prod/network.tfstate", "kind": "github_workflow",
//!    "repository": "acme/network", "workflow": "apply.yml", "ref": "main",
//!    "token": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/github",
//!    "inputs": {"environment": "prod"}},
//!   {"state": "s3://tf-states/*", "kind": "webhook",
//!    "url": "https://ci.example.com/hooks/terraform-apply", "secret": "/driftguard/ci-webhook"}
//! ]
//! ```
//!
//! A dispatched workflow must declare every input it is sent, or GitHub refuses the dispatch
//! (HTTP 422): [`DISPATCH_INPUTS`] and the route's own `inputs`, all strings.

use crate::findings::finding::{Finding, IacOwner};
use crate::remediation::events::{RemediationAction, RemediationRequest};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The GitHub REST API, unless a route names another (GitHub Enterprise Server:
/// `https://HOST/api/v3`).
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";
/// The REST API version DriftGuard's calls are written against (`X-GitHub-Api-Version`).
pub const GITHUB_API_VERSION: &str = "2022-11-28";
/// The media type GitHub recommends (`Accept`).
pub const GITHUB_ACCEPT: &str = "application/vnd.github+json";
/// The most inputs a `workflow_dispatch` may carry on github.com (raised from 10 to 25 in
/// December 2025; older GitHub Enterprise Server versions still allow 10).
pub const MAX_WORKFLOW_INPUTS: usize = 25;
/// The inputs DriftGuard sends every dispatched workflow, in addition to a route's own: the
/// resource's Terraform address, its state location, the finding id, the action, and who asked
/// (`<source>:<user>`, e.g. `slack:U0123ABCD`).
pub const DISPATCH_INPUTS: [&str; 5] = ["resource_address", "state", "finding_id", "action", "requested_by"];
/// Labels of an accepted-drift issue.
pub const ISSUE_LABELS: [&str; 2] = ["driftguard", "accepted-drift"];
/// GitHub's limit on an issue body, in characters.
pub const MAX_ISSUE_BODY_CHARS: usize = 65_536;
/// The Unix time, in seconds, a webhook call was signed at.
pub const TIMESTAMP_HEADER: &str = "X-DriftGuard-Timestamp";
/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-DriftGuard-Signature";
/// `<finding id>:<action>@<requested at>`, the same for every delivery of one request, so a
/// receiver can run the pipeline once per request.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

const MAX_TITLE_CHARS: usize = 256;
const MAX_CELL_CHARS: usize = 200;
const MAX_ISSUE_ROWS: usize = 30;
const MAX_REASON_CHARS: usize = 2_000;
const JSON: &str = "application/json";

// ---------------------------------------------------------------------------------------------
// Routes

/// Where the pipelines are: an ordered list of [`PipelineRoute`]s, first match wins. Read it with
/// [`PipelineRoutes::from_json`] (or as part of a larger serde document: it deserialises from
/// the same JSON array, with the same checks).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PipelineRoutes {
    routes: Vec<PipelineRoute>,
}

/// One route: a state pattern and the pipeline that applies the states it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRoute {
    /// A Terraform state location (`s3://tf-states/prod/network.tfstate`, a local path), matched
    /// exactly, or a prefix followed by `*` (`s3://tf-states/prod/*`; `*` alone matches every state).
    pub state: String,
    /// The pipeline.
    pub target: PipelineTarget,
}

/// A pipeline that re-applies Terraform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipelineTarget {
    /// A GitHub Actions workflow started with `workflow_dispatch` (`"kind": "github_workflow"`).
    GithubWorkflow(GithubWorkflow),
    /// Any other CI, started by a signed POST (`"kind": "webhook"`).
    Webhook(WebhookTarget),
}

/// A GitHub Actions workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubWorkflow {
    /// The repository owner (user or organisation).
    pub owner: String,
    /// The repository name.
    pub repo: String,
    /// The workflow file name (`apply.yml`, in `.github/workflows`) or its numeric id.
    pub workflow: String,
    /// The branch or tag to run the workflow from (`ref`).
    pub git_ref: String,
    /// Reference of the secret holding a token, or a GitHub App key (see the adapter).
    pub token: String,
    /// The REST API base, without a trailing slash.
    pub api_url: String,
    /// Static inputs sent with every dispatch, besides [`DISPATCH_INPUTS`].
    pub inputs: BTreeMap<String, String>,
}

impl GithubWorkflow {
    /// `owner/repo`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }
}

/// A webhook that starts a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// Where to POST (https; http only on loopback, for tests).
    pub url: String,
    /// Reference of the secret the body is signed with.
    pub secret: String,
}

impl PipelineRoute {
    /// Whether this route applies to `state`.
    pub fn matches(&self, state: &str) -> bool {
        match self.state.strip_suffix('*') {
            Some(prefix) => state.starts_with(prefix),
            None => state == self.state,
        }
    }

    /// Whether every state `later` matches is matched by this route already.
    fn covers(&self, later: &PipelineRoute) -> bool {
        match self.state.strip_suffix('*') {
            Some(prefix) => later.state.starts_with(prefix),
            None => later.state == self.state,
        }
    }
}

impl PipelineRoutes {
    /// Reads and checks the routes (a JSON array). Every problem names the route (`routes[2]`)
    /// and the field; no error quotes a secret reference's value.
    pub fn from_json(text: &str) -> Result<PipelineRoutes, RouteConfigError> {
        let raw: Vec<RawRoute> = serde_json::from_str(text).map_err(|e| RouteConfigError::Json(e.to_string()))?;
        PipelineRoutes::check(raw)
    }

    /// The routes, in order.
    pub fn routes(&self) -> &[PipelineRoute] {
        &self.routes
    }

    /// The pipeline of the first route matching `state`.
    pub fn route(&self, state: &str) -> Option<&PipelineTarget> {
        self.routes.iter().find(|r| r.matches(state)).map(|r| &r.target)
    }

    /// The finding's IaC owner and the pipeline its state routes to.
    pub fn target_for<'a>(&'a self, finding: &'a Finding) -> Result<(&'a IacOwner, &'a PipelineTarget), Refusal> {
        let owner = iac_owner(finding)?;
        let target = self.route(&owner.state).ok_or_else(|| Refusal::NoRoute {
            finding_id: finding.id.clone(),
            state: owner.state.clone(),
        })?;
        Ok((owner, target))
    }

    /// The call that re-applies the finding's resource: a workflow dispatch or a webhook,
    /// whichever the route of its state names.
    pub fn reapply_call(&self, finding: &Finding, request: &RemediationRequest) -> Result<HttpCall, Refusal> {
        match self.target_for(finding)?.1 {
            PipelineTarget::GithubWorkflow(workflow) => dispatch_call(workflow, finding, request),
            PipelineTarget::Webhook(webhook) => webhook_call(webhook, finding, request),
        }
    }

    /// The call that opens an issue for an accepted change, in the repository of the route of the
    /// finding's state (which must be a `github_workflow` route: its repository and token).
    pub fn accept_issue_call(
        &self,
        finding: &Finding,
        request: &RemediationRequest,
        hcl: Option<&str>,
    ) -> Result<HttpCall, Refusal> {
        match self.target_for(finding)? {
            (_, PipelineTarget::GithubWorkflow(workflow)) => issue_call(workflow, finding, request, hcl),
            (owner, PipelineTarget::Webhook(_)) => Err(Refusal::NoIssueRepository {
                finding_id: finding.id.clone(),
                state: owner.state.clone(),
            }),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteConfigError {
    /// Not a JSON array of route objects (or a field of the wrong type, or an unknown field).
    #[error("pipeline routes are not a JSON array of routes: {0}")]
    Json(String),
    /// One route is wrong.
    #[error("pipeline routes[{index}]: {problem}")]
    Route {
        /// Its position in the array, from 0.
        index: usize,
        /// What is wrong, naming the field.
        problem: String,
    },
}

impl<'de> Deserialize<'de> for PipelineRoutes {
    /// The JSON array [`PipelineRoutes::from_json`] reads, with the same checks.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PipelineRoutes::check(Vec::<RawRoute>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A route as written, before checking.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    state: Option<String>,
    kind: Option<String>,
    repository: Option<String>,
    workflow: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    token: Option<String>,
    api_url: Option<String>,
    inputs: Option<BTreeMap<String, Value>>,
    url: Option<String>,
    secret: Option<String>,
}

impl PipelineRoutes {
    fn check(raw: Vec<RawRoute>) -> Result<PipelineRoutes, RouteConfigError> {
        let mut routes: Vec<PipelineRoute> = Vec::with_capacity(raw.len());
        for (index, raw) in raw.into_iter().enumerate() {
            let route = raw
                .check()
                .map_err(|problem| RouteConfigError::Route { index, problem })?;
            if let Some((earlier, first)) = routes.iter().enumerate().find(|(_, r)| r.covers(&route)) {
                return Err(RouteConfigError::Route {
                    index,
                    problem: format!(
                        "state {:?} is never reached: routes[{earlier}] ({:?}) matches every state it does \
                         (first match wins; put the narrower route first)",
                        route.state, first.state
                    ),
                });
            }
            routes.push(route);
        }
        Ok(PipelineRoutes { routes })
    }
}

const GITHUB_FIELDS: [&str; 6] = ["repository", "workflow", "ref", "token", "api_url", "inputs"];
const WEBHOOK_FIELDS: [&str; 2] = ["url", "secret"];

impl RawRoute {
    fn check(self) -> Result<PipelineRoute, String> {
        let state = required(self.state.as_deref(), "state")?;
        if state.trim() != state {
            return Err("`state` has surrounding whitespace".into());
        }
        if state.trim_end_matches('*').contains('*') || state.ends_with("**") {
            return Err(format!(
                "`state` {state:?}: only one trailing `*` (a prefix pattern) is supported"
            ));
        }
        let present = |fields: &[&'static str]| -> Vec<&'static str> {
            fields
                .iter()
                .copied()
                .filter(|f| match *f {
                    "repository" => self.repository.is_some(),
                    "workflow" => self.workflow.is_some(),
                    "ref" => self.git_ref.is_some(),
                    "token" => self.token.is_some(),
                    "api_url" => self.api_url.is_some(),
                    "inputs" => self.inputs.is_some(),
                    "url" => self.url.is_some(),
                    "secret" => self.secret.is_some(),
                    _ => false,
                })
                .collect()
        };
        let target = match self.kind.as_deref() {
            None => return Err("`kind` is missing (one of \"github_workflow\", \"webhook\")".into()),
            Some("github_workflow") => {
                if let Some(field) = present(&WEBHOOK_FIELDS).first() {
                    return Err(format!(
                        "`{field}` is a webhook field, not one of a github_workflow route"
                    ));
                }
                PipelineTarget::GithubWorkflow(self.github()?)
            }
            Some("webhook") => {
                if let Some(field) = present(&GITHUB_FIELDS).first() {
                    return Err(format!(
                        "`{field}` is a github_workflow field, not one of a webhook route"
                    ));
                }
                let url = required(self.url.as_deref(), "url")?;
                check_url(url).map_err(|why| format!("`url` {why}"))?;
                let secret = required(self.secret.as_deref(), "secret")?.to_owned();
                PipelineTarget::Webhook(WebhookTarget {
                    url: url.to_owned(),
                    secret,
                })
            }
            Some(other) => {
                return Err(format!(
                    "unknown `kind` {other:?} (one of \"github_workflow\", \"webhook\")"
                ))
            }
        };
        Ok(PipelineRoute {
            state: state.to_owned(),
            target,
        })
    }

    fn github(&self) -> Result<GithubWorkflow, String> {
        let repository = required(self.repository.as_deref(), "repository")?;
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(owner, repo)| is_name(owner) && is_name(repo))
            .ok_or_else(|| format!("`repository` {repository:?} is not `owner/repo`"))?;
        let workflow = required(self.workflow.as_deref(), "workflow")?;
        let is_file = (workflow.ends_with(".yml") || workflow.ends_with(".yaml"))
            && workflow
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !is_file && !workflow.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`workflow` {workflow:?} is not a workflow file name (`apply.yml`, in .github/workflows) \
                 nor a numeric workflow id"
            ));
        }
        let git_ref = required(self.git_ref.as_deref(), "ref")?;
        if git_ref.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("`ref` {git_ref:?} is not a branch or tag name"));
        }
        let token = required(self.token.as_deref(), "token")?.to_owned();
        let api_url = match self.api_url.as_deref() {
            None => DEFAULT_GITHUB_API,
            Some(url) => {
                check_url(url).map_err(|why| format!("`api_url` {why}"))?;
                url.trim_end_matches('/')
            }
        };
        let mut inputs = BTreeMap::new();
        for (name, value) in self.inputs.iter().flatten() {
            if !is_input_name(name) {
                return Err(format!(
                    "`inputs` name {name:?} is not a workflow input id (letters, digits, `-` and `_`, \
                     starting with a letter or `_`)"
                ));
            }
            if DISPATCH_INPUTS.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                return Err(format!(
                    "`inputs` name {name:?} is one DriftGuard sets itself ({})",
                    DISPATCH_INPUTS.join(", ")
                ));
            }
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(format!(
                        "`inputs` value of {name:?} must be a string (or a number or boolean, sent as text)"
                    ))
                }
            };
            inputs.insert(name.clone(), text);
        }
        if DISPATCH_INPUTS.len() + inputs.len() > MAX_WORKFLOW_INPUTS {
            return Err(format!(
                "`inputs` has {} entries: with DriftGuard's {} a dispatch would carry {}, more than the \
                 {MAX_WORKFLOW_INPUTS} GitHub accepts",
                inputs.len(),
                DISPATCH_INPUTS.len(),
                DISPATCH_INPUTS.len() + inputs.len()
            ));
        }
        Ok(GithubWorkflow {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            workflow: workflow.to_owned(),
            git_ref: git_ref.to_owned(),
            token,
            api_url: api_url.to_owned(),
            inputs,
        })
    }
}

fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, String> {
    match value {
        None => Err(format!("`{field}` is missing")),
        Some(v) if v.trim().is_empty() => Err(format!("`{field}` is empty")),
        Some(v) => Ok(v),
    }
}

/// A GitHub owner or repository name: letters, digits, `-`, `_`, `.` (not `.` or `..`).
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn is_input_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Checks an endpoint: absolute, https (http only to `127.0.0.1`, `localhost` or `[::1]`), a host,
/// no credentials in it. The reason never quotes the URL (it could carry a token in its query).
fn check_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace");
    }
    let (scheme, rest) = url.split_once("://").ok_or("is not an absolute URL (https://...)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("carries credentials (user@host); keep them in the secret");
    }
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("has no host");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if matches!(host.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]") => Ok(()),
        "http" => Err("must be https (plain http is allowed only to 127.0.0.1 or localhost, for tests)"),
        _ => Err("must be an https URL"),
    }
}

// ---------------------------------------------------------------------------------------------
// Calls

/// An HTTP request to make, as data. `headers` never hold a credential: the sender adds them
/// from the secret `auth` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpCall {
    /// What the call does (how to read the answer).
    pub kind: CallKind,
    /// `POST`.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Headers to send (`Content-Type`, GitHub's `Accept` and API version, ...).
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: String,
    /// How the sender authenticates it.
    pub auth: CallAuth,
}

/// What an [`HttpCall`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    /// `workflow_dispatch`: GitHub answers 204, or 200 with the run's id and URLs (the body asks
    /// for them with `return_run_details`).
    WorkflowDispatch,
    /// Opens an issue: GitHub answers 201 with the issue's `number` and `html_url`.
    OpenIssue,
    /// A signed webhook: any 2xx means accepted.
    Webhook,
}

/// How an [`HttpCall`] is authenticated. The `secret` fields are references, not secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAuth {
    /// `Authorization: Bearer` with a token, or with an installation token minted from a GitHub
    /// App key; `api_url` is where to mint it.
    Github {
        /// Reference of the secret.
        secret: String,
        /// The REST API base.
        api_url: String,
    },
    /// [`TIMESTAMP_HEADER`] and [`SIGNATURE_HEADER`], signed with the secret.
    WebhookSignature {
        /// Reference of the secret.
        secret: String,
    },
}

impl HttpCall {
    /// The reference of the secret the sender needs.
    pub fn secret_ref(&self) -> &str {
        match &self.auth {
            CallAuth::Github { secret, .. } | CallAuth::WebhookSignature { secret } => secret,
        }
    }

    /// The first value of a header (`name` in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Why a call cannot be built for a finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The finding names no Terraform state (an unmanaged resource): no pipeline owns it.
    #[error(
        "finding {finding_id} has no IaC owner: no Terraform state declares {resource}, so no pipeline \
         can re-apply it (revert the change, or import the resource into Terraform first)"
    )]
    NoOwner {
        /// The finding.
        finding_id: String,
        /// `<type> <id>`.
        resource: String,
    },
    /// No route matches the state.
    #[error(
        "no pipeline route matches the Terraform state {state:?} of finding {finding_id}: add a route \
         {{\"state\": {state:?}, \"kind\": \"github_workflow\" or \"webhook\", ...}} (or a prefix \
         pattern ending in `*`) to the pipeline routes"
    )]
    NoRoute {
        /// The finding.
        finding_id: String,
        /// The finding's `owner.state`.
        state: String,
    },
    /// The request asks for another action than the call carries out.
    #[error("a {} request cannot become a {} call", requested.as_str(), expected.as_str())]
    WrongAction {
        /// What the call does.
        expected: RemediationAction,
        /// What was asked.
        requested: RemediationAction,
    },
    /// The request is about another finding.
    #[error("the request is for finding {requested}, not {finding}")]
    OtherFinding {
        /// The request's finding id.
        requested: String,
        /// The finding given.
        finding: String,
    },
    /// An issue needs a repository, and the state's route is a webhook.
    #[error(
        "the route of Terraform state {state:?} (finding {finding_id}) is a webhook: opening an issue \
         needs a github_workflow route, for its repository and token"
    )]
    NoIssueRepository {
        /// The finding.
        finding_id: String,
        /// The finding's `owner.state`.
        state: String,
    },
}

fn iac_owner(finding: &Finding) -> Result<&IacOwner, Refusal> {
    finding.owner.as_ref().ok_or_else(|| Refusal::NoOwner {
        finding_id: finding.id.clone(),
        resource: format!("{} {}", finding.resource.resource_type, finding.resource.id),
    })
}

fn check_request(finding: &Finding, request: &RemediationRequest, expected: RemediationAction) -> Result<(), Refusal> {
    if request.finding_id != finding.id {
        return Err(Refusal::OtherFinding {
            requested: request.finding_id.clone(),
            finding: finding.id.clone(),
        });
    }
    if request.action != expected {
        return Err(Refusal::WrongAction {
            expected,
            requested: request.action,
        });
    }
    Ok(())
}

fn requester(request: &RemediationRequest) -> String {
    format!("{}:{}", request.requested_by.source, request.requested_by.user)
}

fn github_headers() -> Vec<(String, String)> {
    vec![
        ("Accept".into(), GITHUB_ACCEPT.into()),
        ("X-GitHub-Api-Version".into(), GITHUB_API_VERSION.into()),
        ("Content-Type".into(), JSON.into()),
    ]
}

/// `POST {api_url}/repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches` with
/// `{"ref", "inputs", "return_run_details": true}`: the route's static inputs and
/// [`DISPATCH_INPUTS`], all strings. For a `reapply` request on the finding.
pub fn dispatch_call(
    workflow: &GithubWorkflow,
    finding: &Finding,
    request: &RemediationRequest,
) -> Result<HttpCall, Refusal> {
    check_request(finding, request, RemediationAction::Reapply)?;
    let owner = iac_owner(finding)?;
    let mut inputs = workflow.inputs.clone();
    let [address, state, finding_id, action, requested_by] = DISPATCH_INPUTS;
    inputs.insert(address.into(), owner.address.clone());
    inputs.insert(state.into(), owner.state.clone());
    inputs.insert(finding_id.into(), finding.id.clone());
    inputs.insert(action.into(), request.action.as_str().into());
    inputs.insert(requested_by.into(), requester(request));
    let body = json!({
        "ref": workflow.git_ref,
        "inputs": inputs,
        "return_run_details": true,
    });
    Ok(HttpCall {
        kind: CallKind::WorkflowDispatch,
        method: "POST",
        url: format!(
            "{}/repos/{}/{}/actions/workflows/{}/dispatches",
            workflow.api_url, workflow.owner, workflow.repo, workflow.workflow
        ),
        headers: github_headers(),
        body: body.to_string(),
        auth: CallAuth::Github {
            secret: workflow.token.clone(),
            api_url: workflow.api_url.clone(),
        },
    })
}

/// `POST url` with the request and the resource as JSON (`schema_version`, `finding_id`,
/// `action`, `resource` {`type`, `id`, `arn`, `account`, `region`}, `state`, `address`,
/// `requested_by` {`source`, `user`}, `requested_at`, `dry_run`, and `reason` when given), and an
/// [`IDEMPOTENCY_HEADER`]. The sender signs it ([`webhook_signature`]) when sending. For a
/// `reapply` request on the finding.
pub fn webhook_call(
    webhook: &WebhookTarget,
    finding: &Finding,
    request: &RemediationRequest,
) -> Result<HttpCall, Refusal> {
    check_request(finding, request, RemediationAction::Reapply)?;
    let owner = iac_owner(finding)?;
    let resource = &finding.resource;
    let mut body = json!({
        "schema_version": 1,
        "finding_id": finding.id,
        "action": request.action,
        "resource": {
            "type": resource.resource_type,
            "id": resource.id,
            "arn": resource.arn,
            "account": resource.account,
            "region": resource.region,
        },
        "state": owner.state,
        "address": owner.address,
        "requested_by": request.requested_by,
        "requested_at": request.requested_at,
        "dry_run": request.dry_run,
    });
    if let Some(reason) = &request.reason {
        body["reason"] = Value::String(reason.clone());
    }
    Ok(HttpCall {
        kind: CallKind::Webhook,
        method: "POST",
        url: webhook.url.clone(),
        headers: vec![
            ("Content-Type".into(), JSON.into()),
            (
                IDEMPOTENCY_HEADER.into(),
                format!("{}:{}@{}", finding.id, request.action.as_str(), request.requested_at),
            ),
        ],
        body: body.to_string(),
        auth: CallAuth::WebhookSignature {
            secret: webhook.secret.clone(),
        },
    })
}

/// `POST {api_url}/repos/{owner}/{repo}/issues` with a title, a Markdown body and
/// [`ISSUE_LABELS`]. The body names the finding, the resource and its Terraform address, who
/// changed it, when and through which call, who accepted it, the attributes expected vs found,
/// and `hcl` in a fenced `hcl` block (cut to fit GitHub's [`MAX_ISSUE_BODY_CHARS`], saying so).
/// Values from the finding are shown as code, so nothing in them renders as Markdown or mentions
/// anyone. For an `accept` request on the finding.
pub fn issue_call(
    repository: &GithubWorkflow,
    finding: &Finding,
    request: &RemediationRequest,
    hcl: Option<&str>,
) -> Result<HttpCall, Refusal> {
    check_request(finding, request, RemediationAction::Accept)?;
    let owner = iac_owner(finding)?;
    let body = json!({
        "title": issue_title(finding, owner),
        "body": issue_body(finding, owner, request, hcl),
        "labels": ISSUE_LABELS,
    });
    Ok(HttpCall {
        kind: CallKind::OpenIssue,
        method: "POST",
        url: format!(
            "{}/repos/{}/{}/issues",
            repository.api_url, repository.owner, repository.repo
        ),
        headers: github_headers(),
        body: body.to_string(),
        auth: CallAuth::Github {
            secret: repository.token.clone(),
            api_url: repository.api_url.clone(),
        },
    })
}

fn issue_title(finding: &Finding, owner: &IacOwner) -> String {
    let title = format!(
        "Codify accepted drift on {} ({} {})",
        owner.address, finding.resource.resource_type, finding.resource.id
    );
    truncate_chars(&title, MAX_TITLE_CHARS)
}

fn issue_body(finding: &Finding, owner: &IacOwner, request: &RemediationRequest, hcl: Option<&str>) -> String {
    let resource = &finding.resource;
    let actor = &finding.actor;
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "DriftGuard finding {} was accepted by {} ({}) at {}: the manual change below is to stay. \
         Codify it in the Terraform configuration of {}, or the next apply reverts it.\n",
        span(&finding.id),
        span(&request.requested_by.user),
        span(&request.requested_by.source),
        request.requested_at,
        span(&owner.address),
    );
    if let Some(reason) = request.reason.as_deref().filter(|r| !r.trim().is_empty()) {
        let _ = writeln!(
            out,
            "Reason given:\n\n{}\n",
            fenced("text", &truncate_chars(reason.trim(), MAX_REASON_CHARS))
        );
    }
    let who = finding.who().unwrap_or("unknown");
    let how = format!("{}, {}", serde_name(&actor.kind), serde_name(&actor.channel));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(
        out,
        "| Resource | {} {} |",
        code(&resource.resource_type),
        code(&resource.id)
    );
    if let Some(arn) = &resource.arn {
        let _ = writeln!(out, "| ARN | {} |", code(arn));
    }
    let _ = writeln!(
        out,
        "| Account / region | {} / {} |",
        code(&resource.account),
        code(&resource.region)
    );
    let _ = writeln!(
        out,
        "| Terraform | {} in {} |",
        code(&owner.address),
        code(&owner.state)
    );
    let _ = writeln!(out, "| Changed by | {} ({how}) |", code(who));
    let _ = writeln!(
        out,
        "| Call | {} on {} at {} (CloudTrail event {}) |",
        code(&finding.call.name),
        code(&finding.call.source),
        finding.call.time,
        code(&finding.call.event_id)
    );
    let _ = writeln!(
        out,
        "| Severity | {}, drift likelihood {:.0}% |\n",
        finding.severity.as_str(),
        finding.likelihood * 100.0
    );

    let drifted: Vec<_> = finding.changes.iter().filter(|c| c.drifted).collect();
    let _ = writeln!(out, "### Expected vs found\n");
    if drifted.is_empty() {
        let _ = writeln!(
            out,
            "DriftGuard did not compare attributes for this call; the finding says: {}\n",
            code(&finding.summary)
        );
    } else {
        let _ = writeln!(
            out,
            "| Attribute | Declared in | Expected (IaC) | Found |\n|---|---|---|---|"
        );
        for change in drifted.iter().take(MAX_ISSUE_ROWS) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                code(&change.attribute),
                change.declared_in.as_deref().map_or_else(|| "—".to_owned(), code),
                code(&change.expected.to_string()),
                code(&change.found.to_string()),
            );
        }
        if drifted.len() > MAX_ISSUE_ROWS {
            let _ = writeln!(out, "\n…and {} more attributes.", drifted.len() - MAX_ISSUE_ROWS);
        }
        out.push('\n');
    }

    let footer = format!(
        "\n<sub>Opened by DriftGuard for finding {} (revision {}).</sub>\n",
        span(&finding.id),
        finding.revision
    );
    let _ = writeln!(out, "### HCL\n");
    match hcl.filter(|h| !h.trim().is_empty()) {
        None => {
            let _ = writeln!(
                out,
                "No HCL was generated for this change: write the declaration from the found values above."
            );
        }
        Some(hcl) => {
            let fence_len = longest_run(hcl, '`').max(2) + 1;
            let note_room = 200;
            let used = out.chars().count() + footer.chars().count() + 2 * fence_len + 16 + note_room;
            let room = MAX_ISSUE_BODY_CHARS.saturating_sub(used);
            let total = hcl.chars().count();
            let kept: String = hcl.chars().take(room).collect();
            let _ = writeln!(out, "{}", fenced("hcl", &kept));
            if total > room {
                let _ = writeln!(
                    out,
                    "\nThe HCL was cut to fit GitHub's {MAX_ISSUE_BODY_CHARS}-character issue body: {} of {total} \
                     characters are shown.",
                    room
                );
            }
        }
    }
    out.push_str(&footer);
    out
}

/// The name serde gives a unit enum variant (`human`, `console`).
fn serde_name(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

/// `text` as a Markdown code span that is safe in a table cell: [`span`], `|` escaped.
fn code(text: &str) -> String {
    span(&text.replace('|', "\\|"))
}

/// `text` as a Markdown code span: on one line, fenced with more backticks than it holds, cut to
/// [`MAX_CELL_CHARS`].
fn span(text: &str) -> String {
    let text: String = truncate_chars(text, MAX_CELL_CHARS)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.trim().is_empty() {
        return "(empty)".into();
    }
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// `text` in a fenced code block tagged `info`, the fence longer than any backtick run in it.
fn fenced(info: &str, text: &str) -> String {
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    format!("{fence}{info}\n{}\n{fence}", text.trim_end_matches('\n'))
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures

/// `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`, the [`SIGNATURE_HEADER`] of a webhook
/// call signed at `timestamp` (Unix seconds, sent as [`TIMESTAMP_HEADER`]).
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1={}",
        hex::encode(
            signature_mac(secret, &timestamp.to_string(), body)
                .finalize()
                .into_bytes()
        )
    )
}

/// The two headers of a webhook call signed at `now_unix`: `[(TIMESTAMP_HEADER, ..),
/// (SIGNATURE_HEADER, ..)]`.
pub fn webhook_signature_headers(secret: &[u8], now_unix: i64, body: &[u8]) -> [(String, String); 2] {
    [
        (TIMESTAMP_HEADER.to_owned(), now_unix.to_string()),
        (SIGNATURE_HEADER.to_owned(), webhook_signature(secret, now_unix, body)),
    ]
}

fn signature_mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a webhook receiver refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WebhookRejection {
    /// No [`TIMESTAMP_HEADER`].
    #[error("X-DriftGuard-Timestamp is missing")]
    MissingTimestamp,
    /// The timestamp is not Unix seconds.
    #[error("X-DriftGuard-Timestamp is not a Unix time in seconds")]
    MalformedTimestamp,
    /// Signed too long ago (a replay) or too far in the future (a wrong clock).
    #[error("X-DriftGuard-Timestamp is {age_secs} s from now, more than the {tolerance_secs} s allowed")]
    Stale {
        /// Now minus the timestamp (negative: in the future).
        age_secs: i64,
        /// The tolerance.
        tolerance_secs: u64,
    },
    /// No [`SIGNATURE_HEADER`].
    #[error("X-DriftGuard-Signature is missing")]
    MissingSignature,
    /// The signature is not `v1=` and 64 hex digits.
    #[error("X-DriftGuard-Signature is not v1=<64 hex digits>")]
    MalformedSignature,
    /// The signature does not match the timestamp, the body and the secret.
    #[error("X-DriftGuard-Signature does not match the body")]
    Mismatch,
}

/// Checks a webhook call as a receiver gets it: the [`TIMESTAMP_HEADER`] value within
/// `tolerance_secs` of `now_unix`, and the [`SIGNATURE_HEADER`] value matching
/// HMAC-SHA256(`secret`, `"<timestamp>.<body>"`), compared in constant time. Pass the body
/// exactly as received.
pub fn verify_webhook(
    secret: &[u8],
    timestamp_header: Option<&str>,
    body: &[u8],
    signature_header: Option<&str>,
    now_unix: i64,
    tolerance_secs: u64,
) -> Result<(), WebhookRejection> {
    let timestamp = timestamp_header.ok_or(WebhookRejection::MissingTimestamp)?.trim();
    if timestamp.is_empty() || timestamp.len() > 15 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookRejection::MalformedTimestamp);
    }
    let signed_at: i64 = timestamp.parse().map_err(|_| WebhookRejection::MalformedTimestamp)?;
    let age_secs = now_unix.saturating_sub(signed_at);
    if age_secs.unsigned_abs() > tolerance_secs {
        return Err(WebhookRejection::Stale {
            age_secs,
            tolerance_secs,
        });
    }
    let given = signature_header
        .ok_or(WebhookRejection::MissingSignature)?
        .trim()
        .strip_prefix("v1=")
        .ok_or(WebhookRejection::MalformedSignature)?;
    let given = hex::decode(given).map_err(|_| WebhookRejection::MalformedSignature)?;
    if given.len() != 32 {
        return Err(WebhookRejection::MalformedSignature);
    }
    signature_mac(secret, timestamp, body)
        .verify_slice(&given)
        .map_err(|_| WebhookRejection::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::events::Requester;
    use crate::util::time::Timestamp;

    const ROUTES: &str = r#"[
        {"state": "events/terraform/network.tfstate", "kind": "github_workflow",
         "repository": "acme/network-infra", "workflow": "apply.yml", "ref": "main",
         "token": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/github",
         "inputs": {"environment": "prod", "parallelism": 4, "plan_only": false}},
        {"state": "s3://tf-states/prod/*", "kind": "github_workflow",
         "repository": "acme/prod", "workflow": "1234567", "ref": "release",
         "token": "/driftguard/github-app", "api_url": "https://github.example.com/api/v3/"},
        {"state": "s3://tf-states/*", "kind": "webhook",
         "url": "https://ci.example.com/hooks/terraform-apply", "secret": "/driftguard/ci-webhook"}
    ]"#;

    fn routes() -> PipelineRoutes {
        PipelineRoutes::from_json(ROUTES).expect("valid routes")
    }

    /// The finding of `events/driftguard/drift-detected.console-sg.json`.
    fn finding() -> Finding {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/driftguard/drift-detected.console-sg.json"
        );
        let event: Value = serde_json::from_slice(&std::fs::read(path).expect("sample event")).expect("JSON");
        serde_json::from_value(event["detail"]["finding"].clone()).expect("a finding")
    }

    fn request(finding: &Finding, action: RemediationAction) -> RemediationRequest {
        RemediationRequest {
            schema_version: 1,
            finding_id: finding.id.clone(),
            action,
            requested_by: Requester {
                source: "slack".into(),
                user: "U0123ABCD".into(),
            },
            requested_at: Timestamp::parse("2026-11-20T09:58:41.512Z").expect("time"),
            dry_run: false,
            reason: Some("Port 22 is needed for the migration | see CHG-42".into()),
        }
    }

    fn body(call: &HttpCall) -> Value {
        serde_json::from_str(&call.body).expect("JSON body")
    }

    fn config_error(json: &str) -> String {
        PipelineRoutes::from_json(json).expect_err("refused").to_string()
    }

    #[test]
    fn routes_match_exactly_or_by_prefix_first_match_wins() {
        let routes = routes();
        let repo_of = |state: &str| match routes.route(state) {
            Some(PipelineTarget::GithubWorkflow(w)) => w.repository(),
            Some(PipelineTarget::Webhook(w)) => w.url.clone(),
            None => "none".into(),
        };
        assert_eq!(repo_of("events/terraform/network.tfstate"), "acme/network-infra");
        assert_eq!(repo_of("events/terraform/network.tfstate.backup"), "none");
        assert_eq!(repo_of("s3://tf-states/prod/network.tfstate"), "acme/prod");
        assert_eq!(
            repo_of("s3://tf-states/staging/network.tfstate"),
            "https://ci.example.com/hooks/terraform-apply"
        );
        assert_eq!(repo_of("s3://other-bucket/prod/network.tfstate"), "none");
        let Some(PipelineTarget::GithubWorkflow(prod)) = routes.route("s3://tf-states/prod/x") else {
            panic!("prod routes to GitHub");
        };
        assert_eq!(prod.api_url, "https://github.example.com/api/v3");
        assert_eq!(prod.git_ref, "release");
        let Some(PipelineTarget::GithubWorkflow(network)) = routes.route("events/terraform/network.tfstate") else {
            panic!("network routes to GitHub");
        };
        assert_eq!(network.api_url, DEFAULT_GITHUB_API);
        assert_eq!(
            network.inputs,
            BTreeMap::from([
                ("environment".to_owned(), "prod".to_owned()),
                ("parallelism".to_owned(), "4".to_owned()),
                ("plan_only".to_owned(), "false".to_owned()),
            ])
        );
        // The same checks when the routes are part of a larger serde document.
        #[derive(Deserialize)]
        struct Config {
            pipelines: PipelineRoutes,
        }
        let config: Config = serde_json::from_str(&format!(r#"{{"pipelines": {ROUTES}}}"#)).expect("embedded routes");
        assert_eq!(config.pipelines, routes);
        let bad = serde_json::from_str::<Config>(r#"{"pipelines": [{"state": "x", "kind": "ftp"}]}"#);
        assert!(bad.is_err_and(|e| e.to_string().contains("unknown `kind` \"ftp\"")));
    }

    #[test]
    fn bad_routes_are_refused_naming_the_route_and_the_field() {
        let github = |extra: &str| {
            format!(
                r#"[{{"state": "a", "kind": "github_workflow", "repository": "o/r", "workflow": "apply.yml",
                     "ref": "main", "token": "t"{extra}}}]"#
            )
        };
        assert!(PipelineRoutes::from_json(&github("")).is_ok());
        for (json, expected) in [
            ("{}".to_owned(), "not a JSON array of routes"),
            (r#"[{"state": "a"}]"#.to_owned(), "routes[0]: `kind` is missing"),
            (r#"[{"state": "a", "kind": "jenkins"}]"#.to_owned(), "unknown `kind` \"jenkins\""),
            (r#"[{"kind": "webhook"}]"#.to_owned(), "`state` is missing"),
            (r#"[{"state": " ", "kind": "webhook"}]"#.to_owned(), "`state` is empty"),
            (r#"[{"state": "s3://*/prod", "kind": "webhook"}]"#.to_owned(), "only one trailing `*`"),
            (r#"[{"state": "a", "kind": "webhook", "secret": "s"}]"#.to_owned(), "`url` is missing"),
            (
                r#"[{"state": "a", "kind": "webhook", "url": "http://ci.example.com/h", "secret": "s"}]"#.to_owned(),
                "`url` must be https",
            ),
            (
                r#"[{"state": "a", "kind": "webhook", "url": "ci.example.com/h", "secret": "s"}]"#.to_owned(),
                "`url` is not an absolute URL",
            ),
            (
                r#"[{"state": "a", "kind": "webhook", "url": "https://u:p@ci.example.com/h", "secret": "s"}]"#
                    .to_owned(),
                "`url` carries credentials",
            ),
            (
                r#"[{"state": "a", "kind": "webhook", "url": "https://ci.example.com/h"}]"#.to_owned(),
                "`secret` is missing",
            ),
            (
                r#"[{"state": "a", "kind": "webhook", "url": "https://c.example/h", "secret": "s", "workflow": "a.yml"}]"#
                    .to_owned(),
                "`workflow` is a github_workflow field",
            ),
            (github(r#", "url": "https://x.example""#), "`url` is a webhook field"),
            (github(r#", "colour": "red""#), "unknown field `colour`"),
            (github("").replace("o/r", "acme"), "`repository` \"acme\" is not `owner/repo`"),
            (github("").replace("o/r", "acme/infra/x"), "is not `owner/repo`"),
            (github("").replace("o/r", "acme/../x"), "is not `owner/repo`"),
            (github("").replace("apply.yml", ""), "`workflow` is empty"),
            (github("").replace("apply.yml", "apply"), "`workflow` \"apply\" is not a workflow file name"),
            (github("").replace("apply.yml", "../x.yml"), "is not a workflow file name"),
            (github("").replace("\"main\"", "\"my branch\""), "`ref` \"my branch\""),
            (github("").replace("\"t\"", "\"\""), "`token` is empty"),
            (github(r#", "api_url": "http://github.example.com""#), "`api_url` must be https"),
            (github(r#", "inputs": {"finding_id": "x"}"#), "one DriftGuard sets itself"),
            (github(r#", "inputs": {"9lives": "x"}"#), "is not a workflow input id"),
            (github(r#", "inputs": {"a": {"b": 1}}"#), "must be a string"),
        ] {
            let error = config_error(&json);
            assert!(error.contains(expected), "{json}\n→ {error}\n(expected {expected:?})");
        }
        let many: Vec<String> = (0..21).map(|i| format!(r#""in{i}": "v""#)).collect();
        let error = config_error(&github(&format!(r#", "inputs": {{{}}}"#, many.join(","))));
        assert!(error.contains("more than the 25 GitHub accepts"), "{error}");
        let twenty: Vec<String> = (0..20).map(|i| format!(r#""in{i}": "v""#)).collect();
        assert!(PipelineRoutes::from_json(&github(&format!(r#", "inputs": {{{}}}"#, twenty.join(",")))).is_ok());
        // Loopback http is fine (tests); a later route a broader earlier one shadows is not.
        let webhook = |state: &str, url: &str| {
            format!(r#"{{"state": "{state}", "kind": "webhook", "url": "{url}", "secret": "s"}}"#)
        };
        for url in ["http://127.0.0.1:8080/h", "http://localhost/h", "http://[::1]:9/h"] {
            assert!(
                PipelineRoutes::from_json(&format!("[{}]", webhook("a", url))).is_ok(),
                "{url}"
            );
        }
        let shadowed = format!(
            "[{}, {}]",
            webhook("s3://b/*", "https://a.example/h"),
            webhook("s3://b/prod/*", "https://b.example/h")
        );
        let error = config_error(&shadowed);
        assert!(
            error.contains("routes[1]") && error.contains("never reached") && error.contains("routes[0]"),
            "{error}"
        );
        // No error quotes a secret reference.
        let error = config_error(&github(r#", "inputs": {"a": [1]}"#).replace("\"t\"", "\"arn:secret-ref\""));
        assert!(!error.contains("arn:secret-ref"), "{error}");
    }

    #[test]
    fn reapply_on_github_dispatches_the_workflow_with_the_findings_inputs() {
        let finding = finding();
        let call = routes()
            .reapply_call(&finding, &request(&finding, RemediationAction::Reapply))
            .expect("a dispatch");
        assert_eq!(call.kind, CallKind::WorkflowDispatch);
        assert_eq!(call.method, "POST");
        assert_eq!(
            call.url,
            "https://api.github.com/repos/acme/network-infra/actions/workflows/apply.yml/dispatches"
        );
        assert_eq!(call.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(call.header("x-github-api-version"), Some("2022-11-28"));
        assert_eq!(call.header("authorization"), None);
        assert_eq!(
            body(&call),
            json!({
                "ref": "main",
                "return_run_details": true,
                "inputs": {
                    "resource_address": "module.network.aws_security_group.web",
                    "state": "events/terraform/network.tfstate",
                    "finding_id": "dg-1500731b7ee4b0bc",
                    "action": "reapply",
                    "requested_by": "slack:U0123ABCD",
                    "environment": "prod",
                    "parallelism": "4",
                    "plan_only": "false",
                },
            })
        );
        assert_eq!(
            call.auth,
            CallAuth::Github {
                secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/github".into(),
                api_url: DEFAULT_GITHUB_API.into(),
            }
        );
        assert!(body(&call)["inputs"]
            .as_object()
            .is_some_and(|i| i.len() <= MAX_WORKFLOW_INPUTS));
    }

    #[test]
    fn reapply_on_a_webhook_posts_the_request_and_the_resource() {
        let mut finding = finding();
        finding.owner.as_mut().expect("owned").state = "s3://tf-states/staging/network.tfstate".into();
        let call = routes()
            .reapply_call(&finding, &request(&finding, RemediationAction::Reapply))
            .expect("a webhook call");
        assert_eq!((call.kind, call.method), (CallKind::Webhook, "POST"));
        assert_eq!(call.url, "https://ci.example.com/hooks/terraform-apply");
        assert_eq!(call.secret_ref(), "/driftguard/ci-webhook");
        assert_eq!(
            call.header("idempotency-key"),
            Some("dg-1500731b7ee4b0bc:reapply@2026-11-20T09:58:41.512Z")
        );
        assert_eq!(
            body(&call),
            json!({
                "schema_version": 1,
                "finding_id": "dg-1500731b7ee4b0bc",
                "action": "reapply",
                "resource": {
                    "type": "AWS::EC2::SecurityGroup",
                    "id": "sg-0123456789abcdef0",
                    "arn": "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0",
                    "account": "123456789012",
                    "region": "eu-west-1",
                },
                "state": "s3://tf-states/staging/network.tfstate",
                "address": "module.network.aws_security_group.web",
                "requested_by": {"source": "slack", "user": "U0123ABCD"},
                "requested_at": "2026-11-20T09:58:41.512Z",
                "dry_run": false,
                "reason": "Port 22 is needed for the migration | see CHG-42",
            })
        );
    }

    #[test]
    fn refusals_name_the_state_and_how_to_route_it() {
        let mut finding = finding();
        let reapply = request(&finding, RemediationAction::Reapply);
        finding.owner.as_mut().expect("owned").state = "s3://elsewhere/network.tfstate".into();
        let error = routes().reapply_call(&finding, &reapply).expect_err("no route");
        assert_eq!(
            error,
            Refusal::NoRoute {
                finding_id: "dg-1500731b7ee4b0bc".into(),
                state: "s3://elsewhere/network.tfstate".into()
            }
        );
        let text = error.to_string();
        assert!(
            text.contains("\"s3://elsewhere/network.tfstate\"") && text.contains("add a route"),
            "{text}"
        );

        finding.owner = None;
        let text = routes()
            .reapply_call(&finding, &reapply)
            .expect_err("unmanaged")
            .to_string();
        assert!(
            text.contains("no IaC owner") && text.contains("AWS::EC2::SecurityGroup sg-0123456789abcdef0"),
            "{text}"
        );

        let finding = self::finding();
        let revert = request(&finding, RemediationAction::Revert);
        assert_eq!(
            routes().reapply_call(&finding, &revert),
            Err(Refusal::WrongAction {
                expected: RemediationAction::Reapply,
                requested: RemediationAction::Revert
            })
        );
        let reapply = request(&finding, RemediationAction::Reapply);
        assert!(matches!(
            routes().accept_issue_call(&finding, &reapply, None),
            Err(Refusal::WrongAction { .. })
        ));
        let mut other = reapply.clone();
        other.finding_id = "dg-0000000000000000".into();
        assert!(matches!(
            routes().reapply_call(&finding, &other),
            Err(Refusal::OtherFinding { .. })
        ));
        let mut on_webhook = finding.clone();
        on_webhook.owner.as_mut().expect("owned").state = "s3://tf-states/dev/x.tfstate".into();
        let text = routes()
            .accept_issue_call(&on_webhook, &request(&on_webhook, RemediationAction::Accept), None)
            .expect_err("webhook route")
            .to_string();
        assert!(
            text.contains("is a webhook") && text.contains("github_workflow"),
            "{text}"
        );
    }

    #[test]
    fn an_accepted_change_opens_an_issue_with_the_diff_and_the_hcl() {
        let finding = finding();
        let hcl = "resource \"aws_security_group\" \"web\" {\n  ingress {\n    from_port = 22\n  }\n}\n";
        let call = routes()
            .accept_issue_call(&finding, &request(&finding, RemediationAction::Accept), Some(hcl))
            .expect("an issue");
        assert_eq!((call.kind, call.method), (CallKind::OpenIssue, "POST"));
        assert_eq!(call.url, "https://api.github.com/repos/acme/network-infra/issues");
        let body = body(&call);
        assert_eq!(body["labels"], json!(["driftguard", "accepted-drift"]));
        assert_eq!(
            body["title"],
            "Codify accepted drift on module.network.aws_security_group.web (AWS::EC2::SecurityGroup sg-0123456789abcdef0)"
        );
        let text = body["body"].as_str().expect("a body");
        for expected in [
            "DriftGuard finding `dg-1500731b7ee4b0bc` was accepted by `U0123ABCD` (`slack`) at 2026-11-20T09:58:41.512Z",
            "Reason given:\n\n```text\nPort 22 is needed for the migration | see CHG-42\n```\n",
            "| Resource | `AWS::EC2::SecurityGroup` `sg-0123456789abcdef0` |",
            "| Terraform | `module.network.aws_security_group.web` in `events/terraform/network.tfstate` |",
            "| Changed by | `alice@example.com` (human, console) |",
            "| Call | `AuthorizeSecurityGroupIngress` on `ec2.amazonaws.com` at 2026-11-20T09:02:17Z",
            "| `ingress` | `module.network.aws_security_group.web` | `[\"tcp 443 0.0.0.0/0\"]` | \
             `[\"tcp 22 0.0.0.0/0\",\"tcp 443 0.0.0.0/0\"]` |",
            "```hcl\nresource \"aws_security_group\" \"web\" {\n  ingress {\n    from_port = 22\n  }\n}\n```\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }

        let without = routes()
            .accept_issue_call(&finding, &request(&finding, RemediationAction::Accept), None)
            .expect("an issue");
        let text = self::body(&without)["body"].as_str().expect("a body").to_owned();
        assert!(
            text.contains("No HCL was generated") && !text.contains("```hcl"),
            "{text}"
        );
    }

    #[test]
    fn issue_bodies_neutralise_markdown_and_fit_githubs_limit() {
        let mut finding = finding();
        finding.actor.human = Some("@org/everyone `x` <img src=x>".into());
        finding.changes[0].found = json!(["a|b", "x".repeat(5_000)]);
        let accept = request(&finding, RemediationAction::Accept);
        let hcl = format!("# ```\n{}", "locals { a = 1 }\n".repeat(10_000));
        let call = routes()
            .accept_issue_call(&finding, &accept, Some(&hcl))
            .expect("an issue");
        let text = body(&call)["body"].as_str().expect("a body").to_owned();
        assert!(text.chars().count() <= MAX_ISSUE_BODY_CHARS, "{}", text.chars().count());
        assert!(
            text.contains("| Changed by | ``@org/everyone `x` <img src=x>`` (human, console) |"),
            "{text}"
        );
        assert!(text.contains("a\\|b"), "pipes in cells are escaped");
        assert!(
            text.contains("````hcl\n# ```\n"),
            "the fence is longer than any run in the HCL"
        );
        assert!(text.contains("The HCL was cut to fit"), "says it was cut");
        assert!(text.trim_end().ends_with("(revision 1).</sub>"), "the footer survives");
    }

    #[test]
    fn webhook_signatures_verify_and_refuse_with_named_reasons() {
        let secret = b"whsec-test-secret";
        let body = br#"{"finding_id":"dg-1"}"#;
        let now = 1_795_165_337;
        let signature = webhook_signature(secret, now, body);
        // Computed independently: printf '1795165337.{"finding_id":"dg-1"}' |
        //   openssl dgst -sha256 -hmac whsec-test-secret
        assert_eq!(
            signature,
            "v1=0b85464c92e6ecfb3ad24157a91ae1dc8d211418ca533b6c24160fe60edaada7"
        );
        let ts = now.to_string();
        let verify = |secret: &[u8], ts: Option<&str>, body: &[u8], sig: Option<&str>, at: i64| {
            verify_webhook(secret, ts, body, sig, at, 300)
        };
        assert_eq!(verify(secret, Some(&ts), body, Some(&signature), now + 299), Ok(()));
        assert_eq!(
            webhook_signature_headers(secret, now, body),
            [
                (TIMESTAMP_HEADER.to_owned(), ts.clone()),
                (SIGNATURE_HEADER.to_owned(), signature.clone())
            ]
        );
        assert_eq!(
            verify(b"another", Some(&ts), body, Some(&signature), now),
            Err(WebhookRejection::Mismatch)
        );
        assert_eq!(
            verify(secret, Some(&ts), b"{}", Some(&signature), now),
            Err(WebhookRejection::Mismatch)
        );
        assert_eq!(
            verify(secret, Some(&(now + 1).to_string()), body, Some(&signature), now),
            Err(WebhookRejection::Mismatch)
        );
        assert_eq!(
            verify(secret, Some(&ts), body, Some(&signature), now + 301),
            Err(WebhookRejection::Stale {
                age_secs: 301,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            verify(secret, Some(&ts), body, Some(&signature), now - 400),
            Err(WebhookRejection::Stale {
                age_secs: -400,
                tolerance_secs: 300
            })
        );
        assert_eq!(
            verify(secret, None, body, Some(&signature), now),
            Err(WebhookRejection::MissingTimestamp)
        );
        for bad in ["", "soon", "-5", "1e9", "99999999999999999999"] {
            assert_eq!(
                verify(secret, Some(bad), body, Some(&signature), now),
                Err(WebhookRejection::MalformedTimestamp),
                "{bad:?}"
            );
        }
        assert_eq!(
            verify(secret, Some(&ts), body, None, now),
            Err(WebhookRejection::MissingSignature)
        );
        let short = &signature[..signature.len() - 2];
        let v0 = signature.replace("v1=", "v0=");
        for bad in ["", "v1=", "v1=zz", short, v0.as_str()] {
            assert_eq!(
                verify(secret, Some(&ts), body, Some(bad), now),
                Err(WebhookRejection::MalformedSignature),
                "{bad:?}"
            );
        }
    }
}
