//! The compiled ingest Lambda reading its configuration file from SSM Parameter Store (moto),
//! as `DRIFTGUARD_CONFIG` names it: a declared principal takes effect, a bad file pushed after
//! start leaves the function on the last good one (logged on its line, counted), a container
//! starting while the bad file is in place runs on the last good one kept in the table, a fixed
//! file takes effect, and a bad file with nothing to fall back on fails start naming its line.

use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{workspace, Stack};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const PARAMETER: &str = "/driftguard/config";

/// alice's console session (the sample event's role) declared as an IaC pipeline: her change
/// is then an IaC change, not drift.
const ALICE_IS_IAC: &str = r#"# DriftGuard configuration
[[principals]]
id = "break-glass-pipeline"
role_arn = "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"
tool = "Terraform"
"#;

/// The same, with a typo on line 3.
const TYPO: &str = r#"# DriftGuard configuration
[[principals]]
role_arm = "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"
"#;

/// A configuration declaring someone else.
const SOMEONE_ELSE: &str = r#"[[principals]]
id = "gha"
role_arn = "arn:aws:iam::*:role/github-actions-terraform"
"#;

/// The console security-group change, as a new event (its own id).
fn alice_changes_the_group(n: u32) -> Vec<u8> {
    let path = workspace().join("events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).expect("sample event")).expect("JSON");
    event["id"] = json!(format!("3d6523e6-958c-42b8-8f03-0000000000{n:02}"));
    event["detail"]["eventID"] = json!(format!("0a10d948-2ac6-465c-ab05-0000000000{n:02}"));
    serde_json::to_vec(&event).expect("serialise")
}

fn lines(logs: &str) -> Vec<Value> {
    logs.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// The `ConfigRejected` values `lambda` emitted, once the metric lines of `invocations`
/// invocations are read (the answer may reach the test before its line does).
fn rejected_metric(lambda: &LambdaProcess, invocations: usize) -> Vec<u64> {
    lambda
        .metrics_lines(invocations, TIMEOUT)
        .iter()
        .filter_map(|m| m.get("ConfigRejected").map(|v| *v as u64))
        .collect()
}

fn respond(lambda: &mut LambdaProcess, event: &[u8]) -> Value {
    match lambda.invoke(event, TIMEOUT) {
        Invocation::Response(v) => v,
        other => panic!("expected a response, got {other:?}\nlogs:\n{}", lambda.logs()),
    }
}

#[test]
fn a_bad_configuration_pushed_after_start_leaves_ingest_on_the_last_good_one() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let Some(stack) = rt.block_on(Stack::start(
        "a_bad_configuration_pushed_after_start_leaves_ingest_on_the_last_good_one",
    )) else {
        return;
    };
    let put = |name: &str, text: &str| rt.block_on(stack.put_parameter(name, text));
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest"));
    let spawn = |parameter: &str| {
        let api = RuntimeApi::start_named("driftguard-ingest");
        let mut env = stack.ingest_env();
        env.push(("DRIFTGUARD_CONFIG".into(), format!("ssm:{parameter}")));
        // Every invocation reads the parameter again.
        env.push(("DRIFTGUARD_CONFIG_REFRESH_SECONDS".into(), "0".into()));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        (api, lambda)
    };

    // The file declares alice's role as a pipeline: her change is an IaC change.
    put(PARAMETER, ALICE_IS_IAC);
    let (_api, mut first) = spawn(PARAMETER);
    let summary = respond(&mut first, &alice_changes_the_group(1));
    assert_eq!(
        (summary["findings"].clone(), summary["iac_changes"].clone()),
        (json!(0), json!(1)),
        "{summary}\n{}",
        first.logs()
    );

    // A typo pushed: refused on its line, counted, and the principal still holds.
    put(PARAMETER, TYPO);
    let summary = respond(&mut first, &alice_changes_the_group(2));
    assert_eq!(
        summary["findings"],
        json!(0),
        "the last good configuration stays in use: {summary}"
    );
    // The metric line comes after the refusal in the stream: once it is read, so is the refusal.
    let rejected = rejected_metric(&first, 2);
    let logs = first.logs();
    let refusal = lines(&logs)
        .into_iter()
        .find(|l| l["fields"]["message"] == json!("Configuration refused; keeping the one in use"))
        .unwrap_or_else(|| panic!("no refusal logged:\n{logs}"));
    assert_eq!(refusal["fields"]["line"], json!(3), "{refusal:#}");
    assert!(
        refusal["fields"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("role_arm")),
        "{refusal:#}"
    );
    assert_eq!(refusal["level"], json!("ERROR"), "{refusal:#}");
    assert_eq!(
        (rejected.first(), rejected.last()),
        (Some(&0), Some(&1)),
        "accepted, then refused: {rejected:?}"
    );

    // A new container while the typo is in place runs on the last good configuration.
    let (_api2, mut second) = spawn(PARAMETER);
    let summary = respond(&mut second, &alice_changes_the_group(3));
    assert_eq!(summary["findings"], json!(0), "{summary}\n{}", second.logs());
    assert_eq!(rejected_metric(&second, 1), vec![1], "the new container says so too");
    assert!(
        second.logs().contains("Running on the last good configuration"),
        "{}",
        second.logs()
    );

    // Fixed (alice no longer declared): her next change is drift again.
    put(PARAMETER, SOMEONE_ELSE);
    let summary = respond(&mut first, &alice_changes_the_group(4));
    assert_eq!(summary["findings"], json!(1), "{summary}\n{}", first.logs());

    // A bad file with nothing kept to fall back on: start fails, naming the line (the process
    // exits, as Lambda sees a runtime that cannot start; the events wait in the queue).
    put("/driftguard/fresh", TYPO);
    let (_api3, mut third) = spawn("/driftguard/fresh");
    match third.invoke(&alice_changes_the_group(5), TIMEOUT) {
        Invocation::ProcessExited { .. } | Invocation::InitError(_) => {}
        other => panic!("expected start to fail, got {other:?}\n{}", third.logs()),
    }
    let logs = third.logs();
    let cannot = lines(&logs)
        .into_iter()
        .find(|l| l["fields"]["message"] == json!("Cannot start"))
        .unwrap_or_else(|| panic!("no reason logged:\n{logs}"));
    let why = cannot["fields"]["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("ssm:/driftguard/fresh:3:1: unknown field `role_arm`"),
        "{why}"
    );
    assert!(why.contains("no last good configuration"), "{why}");
}
