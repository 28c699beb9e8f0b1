//! `driftguard remediate`: the plan of a revert, re-apply or accept for a stored finding, and with
//! `--execute` the remediation itself, with the caller's AWS credentials (or a local endpoint),
//! through the same adapter code the remediate function runs (`driftguard_aws::plan_revert` /
//! `execute`, core's planner and the pipelines client). Every step goes on the finding's trail in
//! the embedded store, which `driftguard findings show` prints.

use crate::now;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use driftguard_core::finding::{Finding, IacChange, ACCEPT_PREFIX};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::remediation::audit::{AuditEntry, Step};
use driftguard_core::remediation::{
    safety, PipelineRoutes, RemediationAction, RemediationOutcome, RemediationRequest, Requester,
};
use driftguard_redb::EmbeddedStore;
use std::io::Write;
use std::path::PathBuf;

/// The action, as typed.
#[derive(Clone, Copy, ValueEnum)]
pub enum ActionArg {
    /// Put the declared values back with the inverse API calls.
    Revert,
    /// Start the pipeline that owns the resource's state.
    Reapply,
    /// Keep the change as the new baseline and close the finding.
    Accept,
}

/// `driftguard remediate` arguments.
#[derive(Args)]
pub struct RemediateArgs {
    /// Finding id (`dg-...`).
    id: String,
    /// What to do.
    #[arg(long, value_enum)]
    action: ActionArg,
    /// Act; without it the plan is printed and nothing changes.
    #[arg(long)]
    execute: bool,
    /// The embedded store's file.
    #[arg(
        long = "store",
        value_name = "PATH",
        default_value = "driftguard.redb",
        env = "DRIFTGUARD_STORE"
    )]
    store: PathBuf,
    /// Send AWS calls to this endpoint (a local stand-in such as moto), with path-style S3.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// Pipeline routes (a JSON file, as DRIFTGUARD_REMEDIATION_PIPELINES and the template's
    /// `RemediationPipelines` hold them) for reapply and for the accept issue.
    #[arg(long = "remediation-pipelines", alias = "pipelines", value_name = "FILE")]
    pipelines: Option<PathBuf>,
    /// Who is acting, for the trail (default: $USER).
    #[arg(long, env = "USER", default_value = "cli")]
    by: String,
    /// Output format of the plan (`--json`: the same as `--format json`).
    #[arg(long, value_enum, default_value_t = crate::Format::Table)]
    format: crate::Format,
    /// Print the plan as JSON (`--format json`).
    #[arg(long, hide = true)]
    json: bool,
}

struct Trail<'s> {
    store: &'s EmbeddedStore,
    finding: String,
    request_id: String,
}

impl Trail<'_> {
    fn add(&self, step: Step) -> Result<()> {
        let entry = AuditEntry {
            request_id: self.request_id.clone(),
            at: now(),
            step,
        };
        self.store.append_trail(&self.finding, &entry)?;
        Ok(())
    }
}

/// Runs the command; the exit is a failure when the remediation was refused or failed.
pub fn run(args: RemediateArgs) -> Result<bool> {
    if !args.store.exists() {
        bail!(
            "no store at {} (run `driftguard replay` first, or pass --store)",
            args.store.display()
        );
    }
    let store = EmbeddedStore::open(&args.store).with_context(|| format!("opening store {}", args.store.display()))?;
    let Some(finding) = pollster::block_on(store.get(&args.id))? else {
        bail!("no finding {} in the store", args.id)
    };
    let action = match args.action {
        ActionArg::Revert => RemediationAction::Revert,
        ActionArg::Reapply => RemediationAction::Reapply,
        ActionArg::Accept => RemediationAction::Accept,
    };
    let request = RemediationRequest {
        schema_version: 1,
        finding_id: finding.id.clone(),
        action,
        requested_by: Requester {
            source: "cli".into(),
            user: args.by.clone(),
        },
        requested_at: now(),
        dry_run: !args.execute,
        reason: None,
    };
    let trail = Trail {
        store: &store,
        finding: finding.id.clone(),
        request_id: safety::request_id(&request),
    };
    trail.add(Step::Requested {
        request: request.clone(),
    })?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = std::io::stdout().lock();
    let ok = match action {
        RemediationAction::Revert => rt.block_on(revert(&args, &finding, &trail, &mut out))?,
        RemediationAction::Reapply => rt.block_on(reapply(&args, &finding, &request, &trail, &mut out))?,
        RemediationAction::Accept => accept(&args, &finding, &store, &trail, &mut out)?,
    };
    Ok(ok)
}

fn finish(trail: &Trail<'_>, out: &mut impl Write, ok: bool, message: String) -> Result<bool> {
    let outcome = if ok {
        RemediationOutcome::Completed
    } else {
        RemediationOutcome::Failed
    };
    trail.add(Step::Finished {
        outcome,
        message: message.clone(),
    })?;
    writeln!(out, "{}: {message}", outcome.as_str())?;
    Ok(ok)
}

async fn sdk(args: &RemediateArgs) -> aws_config::SdkConfig {
    crate::aws::sdk(crate::aws::AwsFlags {
        endpoint_url: args.endpoint_url.as_deref(),
        ..crate::aws::AwsFlags::default()
    })
    .await
}

async fn revert(args: &RemediateArgs, finding: &Finding, trail: &Trail<'_>, out: &mut impl Write) -> Result<bool> {
    let base = sdk(args).await;
    // The caller's own credentials act in the finding's account: no role is assumed.
    let session = driftguard_aws::session_for(&base, &finding.resource.account, "", finding).await?;
    let remediator = driftguard_aws::Remediator::new(&session, args.endpoint_url.is_some());
    let (planned, _) = driftguard_aws::plan_revert(&remediator, finding).await?;
    let plan = match planned {
        Ok(plan) => plan,
        Err(refusal) => {
            let message = refusal.to_string();
            trail.add(Step::Refused {
                refusal,
                message: message.clone(),
            })?;
            return finish(trail, out, false, format!("refused: {message}"));
        }
    };
    trail.add(Step::Planned { plan: plan.clone() })?;
    let format = if args.json { crate::Format::Json } else { args.format };
    if format == crate::Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&plan)?)?;
    } else if format == crate::Format::Jsonl {
        writeln!(out, "{}", serde_json::to_string(&plan)?)?;
    } else {
        writeln!(
            out,
            "plan for {} ({} in {} / {}):",
            finding.id, finding.resource.id, plan.account, plan.region
        )?;
        for call in &plan.calls {
            writeln!(out, "  {} {}", call.iam_action(), serde_json::to_string(call)?)?;
        }
        for (attribute, value) in &plan.after {
            let before = plan.before.get(attribute).cloned().unwrap_or_default();
            writeln!(out, "  {attribute}: {before} → {value}")?;
        }
    }
    if !args.execute {
        return finish(
            trail,
            out,
            true,
            "dry run: nothing changed (add --execute to make these calls)".into(),
        );
    }
    let execution = driftguard_aws::execute(&remediator, finding, &plan).await;
    for step in &execution.steps {
        trail.add(step.clone())?;
    }
    if execution.ok {
        finish(
            trail,
            out,
            true,
            format!(
                "{} calls made; the values read back are the declared ones",
                plan.calls.len()
            ),
        )
    } else {
        finish(
            trail,
            out,
            false,
            execution.error.unwrap_or_else(|| "the revert did not complete".into()),
        )
    }
}

fn routes(args: &RemediateArgs) -> Result<Option<PipelineRoutes>> {
    let Some(path) = &args.pipelines else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Some(
        PipelineRoutes::from_json(&text).with_context(|| format!("parsing {}", path.display()))?,
    ))
}

async fn reapply(
    args: &RemediateArgs,
    finding: &Finding,
    request: &RemediationRequest,
    trail: &Trail<'_>,
    out: &mut impl Write,
) -> Result<bool> {
    let Some(routes) = routes(args)? else {
        return finish(
            trail,
            out,
            false,
            "reapply needs --remediation-pipelines (which pipeline applies which state)".into(),
        );
    };
    let call = match routes.reapply_call(finding, request) {
        Ok(call) => call,
        Err(refusal) => return finish(trail, out, false, format!("refused: {refusal}")),
    };
    writeln!(out, "{} {}\n{}", call.method, call.url, call.body)?;
    if !args.execute {
        return finish(
            trail,
            out,
            true,
            "dry run: nothing sent (add --execute to start the pipeline)".into(),
        );
    }
    let base = sdk(args).await;
    let secret = driftguard_aws::read_secret(&base, call.secret_ref()).await?;
    let client = driftguard_pipelines::PipelineClient::new()?;
    match client.execute(&call, &secret).await {
        Ok(driftguard_pipelines::Executed::Dispatched { run_url, .. }) => {
            trail.add(Step::Dispatched {
                target: format!("{} {}", call.method, call.url),
                run_url: run_url.clone(),
            })?;
            finish(
                trail,
                out,
                true,
                format!(
                    "pipeline started{}",
                    run_url.map(|u| format!(": {u}")).unwrap_or_default()
                ),
            )
        }
        Ok(other) => finish(trail, out, false, format!("unexpected answer: {other:?}")),
        Err(e) => finish(trail, out, false, format!("the pipeline was not started: {e}")),
    }
}

fn accept(
    args: &RemediateArgs,
    finding: &Finding,
    store: &EmbeddedStore,
    trail: &Trail<'_>,
    out: &mut impl Write,
) -> Result<bool> {
    let hcl = driftguard_core::remediation::codify::hcl(finding);
    let baseline = finding.as_baseline();
    if baseline.is_empty() {
        return finish(
            trail,
            out,
            false,
            "the finding compared no attribute: there is no value to accept".into(),
        );
    }
    if let Some(hcl) = &hcl {
        writeln!(out, "{hcl}")?;
    }
    if !args.execute {
        return finish(
            trail,
            out,
            true,
            "dry run: the finding stays open (add --execute to accept it)".into(),
        );
    }
    let change = Change::Iac(IacChange {
        resource_key: finding.resource.key(),
        event_id: format!("{ACCEPT_PREFIX}{}", trail.request_id),
        time: now(),
        by: format!("accepted by {} (driftguard CLI)", args.by),
        restores: baseline,
        finding: Some(finding.id.clone()),
        baseline: true,
    });
    pollster::block_on(store.apply(&[change]))?;
    trail.add(Step::Accepted { hcl, issue_url: None })?;
    finish(
        trail,
        out,
        true,
        "accepted: the finding is closed and the same change will not alert again".into(),
    )
}

/// Prints a finding's trail (for `findings show`).
pub fn print_trail(out: &mut impl Write, trail: &[AuditEntry]) -> std::io::Result<()> {
    if trail.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nremediation trail:")?;
    for e in trail {
        let what = match &e.step {
            Step::Requested { request } => format!(
                "requested {} by {}:{}{}",
                request.action.as_str(),
                request.requested_by.source,
                request.requested_by.user,
                if request.dry_run { " (dry run)" } else { "" }
            ),
            Step::Approved { approver } => format!("approved by {approver}"),
            Step::Gated { gate } => format!("gate: {gate}"),
            Step::Planned { plan } => format!("planned {} calls", plan.calls.len()),
            Step::Refused { message, .. } => format!("refused: {message}"),
            Step::Called { call, ok, error } => format!(
                "{} {} {}",
                call.iam_action(),
                if *ok { "ok" } else { "FAILED" },
                error.as_deref().unwrap_or("")
            ),
            Step::Verified { matches, .. } => format!(
                "read back: {}",
                if *matches {
                    "as planned"
                } else {
                    "DIFFERS from the plan"
                }
            ),
            Step::Dispatched { target, run_url } => format!("pipeline {target} {}", run_url.as_deref().unwrap_or("")),
            Step::Accepted { issue_url, .. } => format!(
                "accepted{}",
                issue_url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default()
            ),
            Step::Finished { outcome, message } => format!("{}: {message}", outcome.as_str()),
        };
        writeln!(out, "  {} [{}] {}", e.at, e.request_id, what.trim_end())?;
    }
    Ok(())
}
