//! `driftguard dlq redrive --from <queue URL> --to <queue URL | function ARN>`: moves the
//! messages of one of the stack's dead-letter queues back to the consumer that missed them, as
//! the stack's `<queue>Redrive` outputs print it (infra/README.md, "Dead letters"). Each message
//! goes only where it names (core's `dead_letter`); it is deleted only once re-sent; the counts
//! are printed. The region is the one in the queue URL or the function ARN, unless `--region`
//! says otherwise, so the printed command works whatever the shell's default region.

use crate::aws::{self, AwsFlags};
use crate::{Exit, Format};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use driftguard_aws::{RedriveOptions, RedriveTarget, SqsRedrive};
use driftguard_core::dead_letter::{Destination, RedriveReport};

#[derive(Subcommand)]
pub(crate) enum DlqCommand {
    /// Re-send every message of a dead-letter queue to the queue or function it was meant for,
    /// deleting each once re-sent; messages bound elsewhere are left in place. Exit status 2
    /// when some were left or failed.
    Redrive(RedriveArgs),
}

#[derive(Args)]
pub(crate) struct RedriveArgs {
    /// The dead-letter queue's URL (the stack's `<queue>Url` output).
    #[arg(long, value_name = "QUEUE_URL")]
    from: String,
    /// Where its messages go back to: the ingest queue's URL, or the consumer function's ARN
    /// (a failed invocation's record is unwrapped to the event it was given).
    #[arg(long, value_name = "QUEUE_URL|FUNCTION_ARN")]
    to: String,
    /// Count what would be re-sent; send and delete nothing (the messages show again at once).
    #[arg(long)]
    dry_run: bool,
    /// Stop after this many messages.
    #[arg(long, value_name = "N")]
    max: Option<usize>,
    /// AWS region (default: the one in the queue URL or function ARN, else the AWS configuration's).
    #[arg(long)]
    region: Option<String>,
    /// AWS profile.
    #[arg(long)]
    profile: Option<String>,
    /// Send the calls to this endpoint (a local stand-in).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub(crate) fn run(command: DlqCommand) -> Result<Exit> {
    match command {
        DlqCommand::Redrive(args) => redrive(&args),
    }
}

/// The region an SQS queue URL names (`https://sqs.<region>.amazonaws.com/...`, or the legacy
/// `https://<region>.queue.amazonaws.com/...`).
fn region_of_url(url: &str) -> Option<&str> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|rest| rest.split_once(".amazonaws.com").map(|(r, _)| r))
        .or_else(|| host.split_once(".queue.amazonaws.com").map(|(r, _)| r))?;
    (!region.is_empty() && !region.contains('.')).then_some(region)
}

/// What `--to` names: a queue URL, or a function ARN.
enum To {
    Queue(String),
    Function(Destination),
}

fn parse_to(to: &str) -> Result<To> {
    if to.starts_with("https://") || to.starts_with("http://") {
        return Ok(To::Queue(to.to_owned()));
    }
    if let Some(function) = Destination::function(to) {
        return Ok(To::Function(function));
    }
    if Destination::queue(to).is_some() {
        bail!("--to {to}: give the queue's URL (the stack's QueueUrl output), not its ARN");
    }
    bail!(
        "--to {to}: expected a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>) or a Lambda \
         function ARN (arn:aws:lambda:<region>:<account>:function:<name>), as the stack's <queue>Redrive output prints it"
    )
}

fn redrive(args: &RedriveArgs) -> Result<Exit> {
    if !(args.from.starts_with("https://") || args.from.starts_with("http://")) {
        bail!(
            "--from {}: expected the dead-letter queue's URL (the stack's <queue>Url output)",
            args.from
        );
    }
    if args.max == Some(0) {
        bail!("--max must be 1 or more");
    }
    let to = parse_to(&args.to)?;
    let region = args.region.as_deref().or_else(|| region_of_url(&args.from));
    let runtime = aws::runtime()?;
    let sdk = runtime.block_on(aws::sdk(AwsFlags {
        region,
        profile: args.profile.as_deref(),
        endpoint_url: args.endpoint_url.as_deref(),
    }));
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    // The function's own region, from its ARN (a queue URL gives the queue's).
    let lambda = match (&to, &args.region) {
        (To::Function(f), None) => {
            let function_region = f.arn().split(':').nth(3).unwrap_or_default().to_owned();
            aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&sdk)
                    .region(aws_config::Region::new(function_region))
                    .build(),
            )
        }
        _ => aws_sdk_lambda::Client::new(&sdk),
    };
    let redrive = SqsRedrive::new(sqs, lambda);
    let options = RedriveOptions {
        max_messages: args.max,
        dry_run: args.dry_run,
        ..RedriveOptions::default()
    };
    let report = runtime.block_on(async {
        let target = match &to {
            To::Queue(url) => redrive.queue_target(url).await?,
            To::Function(f) => RedriveTarget::Function {
                arn: f.arn().to_owned(),
            },
        };
        redrive.run(&args.from, &target, options).await
    });
    let report = report.with_context(|| format!("redriving {}", args.from))?;
    print(args, &report)?;
    Ok(if report.complete() {
        Exit::Clean
    } else {
        Exit::InputErrors
    })
}

fn print(args: &RedriveArgs, report: &RedriveReport) -> Result<()> {
    let json = serde_json::json!({
        "from": args.from,
        "to": args.to,
        "report": report,
    });
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        Format::Jsonl => println!("{json}"),
        Format::Table => {
            let verb = if report.dry_run { "would re-send" } else { "re-sent" };
            println!(
                "{}: {} received, {} {verb}, {} deleted, {} left, {} failed",
                args.from,
                report.received,
                report.resent,
                report.deleted,
                report.left.len(),
                report.failed.len()
            );
            if report.duplicates > 0 {
                println!(
                    "  {} received again after being re-sent: deleted, not sent twice",
                    report.duplicates
                );
            }
            for left in &report.left {
                println!("  left {}: {}", left.message_id, left.refusal);
            }
            for failed in &report.failed {
                println!("  failed {} ({}): {}", failed.message_id, failed.step, failed.error);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_is_read_from_the_queue_url() {
        assert_eq!(
            region_of_url("https://sqs.eu-west-1.amazonaws.com/123456789012/q"),
            Some("eu-west-1")
        );
        assert_eq!(
            region_of_url("https://us-east-2.queue.amazonaws.com/123456789012/q"),
            Some("us-east-2")
        );
        assert_eq!(
            region_of_url("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"),
            Some("cn-north-1")
        );
        assert_eq!(region_of_url("http://127.0.0.1:5000/123456789012/q"), None);
    }
}
