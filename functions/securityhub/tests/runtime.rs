//! The compiled securityhub Lambda, run as Lambda runs it (Runtime API on loopback), against
//! moto's Security Hub: the sample `Drift Detected` (events/driftguard) becomes a finding that
//! `GetFindings` returns with the severity, resource and fields expected; the matching `Drift
//! Resolved` archives the same finding; a malformed event and refused findings fail the
//! invocation with an error that names what was wrong.
//!
//! Where moto stands in for Security Hub, by name:
//! - `moto-getfindings-filters`: moto's `GetFindings` ignores `Filters`, so the test asks for
//!   every finding and picks DriftGuard's by `Id` itself.
//! - `moto-update-by-id`: moto updates a finding with the same `Id` (whatever its `ProductArn`)
//!   by merging every top-level field, and does not compare `UpdatedAt`; Security Hub also
//!   keys on the product and ignores an older `UpdatedAt` and, for an existing finding,
//!   `Workflow`. The test checks that one finding is updated in place to `ARCHIVED` with a later
//!   `UpdatedAt`; the `UpdatedAt` order and the workflow rule are core's unit tests.
//! - moto accepts any finding with a non-empty `Resources`: ASFF's field limits are checked on
//!   the JSON by core's unit tests, and the request is read back here through the fault proxy.

use driftguard_tests::fault::{Fault, FaultProxy, Rule};
use driftguard_tests::moto::MotoServer;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi, ACCOUNT_ID, REGION};
use driftguard_tests::stack::{sdk_config, workspace};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const SECURITYHUB_ID: &str = "driftguard/dg-1500731b7ee4b0bc";

fn product_arn() -> String {
    format!("arn:aws:securityhub:{REGION}:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default")
}

fn sample(name: &str) -> Value {
    let text = std::fs::read_to_string(workspace().join("events/driftguard").join(name)).expect("sample event");
    serde_json::from_str(&text).expect("the sample is JSON")
}

struct Hub {
    _moto: MotoServer,
    proxy: FaultProxy,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    client: aws_sdk_securityhub::Client,
}

impl Hub {
    fn start(test: &str) -> Option<Hub> {
        let moto = MotoServer::start_or_skip(test)?;
        // The SDK's ASFF model is deep: read it (unoptimised, in a test build) on worker threads
        // with room for it, not on the test's 2 MB thread.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_stack_size(32 << 20)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let client = aws_sdk_securityhub::Client::new(&rt.block_on(sdk_config(&moto.endpoint())));
        let enable = client.clone();
        rt.block_on(rt.spawn(async move { enable.enable_security_hub().send().await }))
            .expect("join")
            .expect("enable Security Hub on moto");
        // Every call of the function goes through the proxy: faults on demand, requests logged.
        let proxy = FaultProxy::start(&moto.endpoint(), Vec::new());
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-securityhub"));
        let api = RuntimeApi::start_named("driftguard-securityhub");
        let endpoint = proxy.endpoint();
        let arn = product_arn();
        let env: Vec<(&str, &str)> = vec![
            ("AWS_ENDPOINT_URL", &endpoint),
            ("DRIFTGUARD_SECURITYHUB_PRODUCT_ARN", &arn),
            ("RUST_LOG", "info"),
        ];
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Hub {
            _moto: moto,
            proxy,
            lambda,
            rt,
            client,
        })
    }

    fn invoke(&mut self, event: &Value) -> Invocation {
        self.lambda.invoke(event.to_string().as_bytes(), TIMEOUT)
    }

    fn answer(&mut self, event: &Value) -> Value {
        match self.invoke(event) {
            Invocation::Response(body) => body,
            other => panic!("{other:?}\n{}", self.lambda.logs()),
        }
    }

    /// DriftGuard's findings on moto (`moto-getfindings-filters`: every finding, picked by id).
    fn findings(&self) -> Vec<Value> {
        let client = self.client.clone();
        let out = self
            .rt
            .block_on(
                self.rt
                    .spawn(async move { client.get_findings().max_results(100).send().await }),
            )
            .expect("join")
            .expect("GetFindings");
        // Read back as the wire JSON, through the SDK's own shape: the fields a console shows.
        out.findings()
            .iter()
            .filter(|f| f.id() == Some(SECURITYHUB_ID))
            .map(|f| {
                json!({
                    "Id": f.id(),
                    "ProductArn": f.product_arn(),
                    "GeneratorId": f.generator_id(),
                    "AwsAccountId": f.aws_account_id(),
                    "Types": f.types(),
                    "CreatedAt": f.created_at(),
                    "UpdatedAt": f.updated_at(),
                    "Severity": f.severity().and_then(|s| s.label()).map(|l| l.as_str()),
                    "SeverityOriginal": f.severity().and_then(|s| s.original()),
                    "Confidence": f.confidence(),
                    "Title": f.title(),
                    "RecordState": f.record_state().map(|s| s.as_str()),
                    "Workflow": f.workflow().and_then(|w| w.status()).map(|s| s.as_str()),
                    "ResourceType": f.resources().first().and_then(|r| r.r#type()),
                    "ResourceId": f.resources().first().and_then(|r| r.id()),
                    "ResourceRegion": f.resources().first().and_then(|r| r.region()),
                    "ProductFields": f.product_fields(),
                })
            })
            .collect()
    }

    /// The last `BatchImportFindings` body the function sent.
    fn last_import(&self) -> Value {
        let request = self
            .proxy
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.target.starts_with("/findings/import"))
            .expect("a BatchImportFindings request");
        serde_json::from_str(&request.body).expect("the request is JSON")
    }
}

#[test]
fn a_detected_drift_becomes_a_finding_and_its_resolution_archives_it() {
    let Some(mut hub) = Hub::start("a_detected_drift_becomes_a_finding_and_its_resolution_archives_it") else {
        return;
    };
    let answer = hub.answer(&sample("drift-detected.console-sg.json"));
    assert_eq!(answer["status"], "imported", "{answer}");
    assert_eq!(answer["securityhub_id"], SECURITYHUB_ID);
    assert_eq!(answer["imported"], 1);

    let found = hub.findings();
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f["ProductArn"], product_arn());
    assert_eq!(f["AwsAccountId"], ACCOUNT_ID);
    assert_eq!(f["GeneratorId"], "driftguard/drift");
    assert_eq!(
        f["Types"],
        json!(["Software and Configuration Checks/Infrastructure as Code Drift/Manual Change"])
    );
    assert_eq!(f["Severity"], "HIGH", "critical drift");
    assert_eq!(f["SeverityOriginal"], "critical");
    assert_eq!(f["Confidence"], 99);
    assert_eq!(f["RecordState"], "ACTIVE");
    assert_eq!(f["Workflow"], "NEW");
    assert_eq!(f["CreatedAt"], "2026-11-20T09:02:17Z");
    assert_eq!(f["UpdatedAt"], f["CreatedAt"]);
    assert_eq!(f["ResourceType"], "AwsEc2SecurityGroup");
    assert_eq!(
        f["ResourceId"],
        "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0"
    );
    assert_eq!(f["ResourceRegion"], "eu-west-1");
    let fields = &f["ProductFields"];
    assert_eq!(fields["DriftGuard/Change1/Attribute"], "ingress");
    assert_eq!(fields["DriftGuard/Change1/Expected"], r#"["tcp 443 0.0.0.0/0"]"#);
    assert_eq!(
        fields["DriftGuard/Change1/Found"],
        r#"["tcp 22 0.0.0.0/0","tcp 443 0.0.0.0/0"]"#
    );
    assert_eq!(fields["DriftGuard/Actor"], "alice@example.com");
    assert_eq!(fields["DriftGuard/Likelihood"], "0.989");
    assert!(
        f["Title"]
            .as_str()
            .unwrap_or_default()
            .contains("sg-0123456789abcdef0 changed outside IaC by alice@example.com"),
        "{}",
        f["Title"]
    );
    // What went on the wire: the provider fields Security Hub keeps for a provider's updates.
    let sent = hub.last_import();
    let sent = &sent["Findings"][0];
    assert_eq!(sent["FindingProviderFields"]["Severity"]["Label"], "HIGH");
    assert_eq!(sent["FindingProviderFields"]["Types"], f["Types"]);
    assert_eq!(sent["SchemaVersion"], "2018-10-08");

    // The resolution updates the same finding (moto-update-by-id).
    let answer = hub.answer(&sample("drift-resolved.terraform-apply.json"));
    assert_eq!(answer["record_state"], "ARCHIVED", "{answer}");
    let found = hub.findings();
    assert_eq!(found.len(), 1, "still one finding: {found:#?}");
    let r = &found[0];
    assert_eq!(r["RecordState"], "ARCHIVED");
    assert_eq!(r["CreatedAt"], "2026-11-20T09:02:17Z", "CreatedAt stays");
    assert_eq!(r["UpdatedAt"], "2026-11-20T09:40:27.001Z", "later than the detection");
    assert_eq!(r["ProductFields"]["DriftGuard/ResolvedBy"], "Terraform");
    let sent = hub.last_import();
    assert_eq!(sent["Findings"][0]["Workflow"]["Status"], "RESOLVED");

    // One metrics line per invocation, with what was imported.
    let lines = hub.lambda.metrics_lines(2, Duration::from_secs(10));
    assert_eq!(lines.len(), 2, "{}", hub.lambda.logs());
    for line in &lines {
        assert_eq!(line.get("SecurityHubFindingsImported"), Some(&1.0), "{line:?}");
        assert_eq!(line.get("SecurityHubImportFailures"), Some(&0.0), "{line:?}");
    }
}

#[test]
fn a_malformed_event_is_refused_with_what_was_wrong() {
    let Some(mut hub) = Hub::start("a_malformed_event_is_refused_with_what_was_wrong") else {
        return;
    };
    let mut event = sample("drift-detected.console-sg.json");
    event["detail"]["finding"]
        .as_object_mut()
        .expect("finding")
        .remove("resource");
    let error = match hub.invoke(&event) {
        Invocation::Error(e) => e,
        other => panic!("{other:?}\n{}", hub.lambda.logs()),
    };
    assert_eq!(error.error_type(), Some("InvalidInput"), "{error:?}");
    let message = error.error_message().unwrap_or_default();
    assert!(
        message.contains("Drift Detected detail: finding: missing field `resource`"),
        "{message}"
    );
    // Not DriftGuard's own event, and not an event at all.
    let mut event = sample("drift-detected.console-sg.json");
    event["source"] = json!("aws.securityhub");
    let error = hub.invoke(&event).expect_error();
    assert!(
        error.error_message().unwrap_or_default().contains("is not driftguard"),
        "{error:?}"
    );
    let error = hub.invoke(&json!("hello")).expect_error();
    assert!(
        error.error_message().unwrap_or_default().contains("not a JSON object"),
        "{error:?}"
    );
    assert!(hub.findings().is_empty(), "nothing imported");
    // The process lives on: a good event after bad ones imports.
    let answer = hub.answer(&sample("drift-detected.console-sg.json"));
    assert_eq!(answer["status"], "imported");
    let lines = hub.lambda.metrics_lines(4, Duration::from_secs(10));
    let failures: Vec<f64> = lines
        .iter()
        .map(|l| l.get("SecurityHubImportFailures").copied().unwrap_or(-1.0))
        .collect();
    assert_eq!(failures, [1.0, 1.0, 1.0, 0.0], "{}", hub.lambda.logs());
}

#[test]
fn refused_findings_fail_the_invocation_retryable_or_not() {
    let Some(mut hub) = Hub::start("refused_findings_fail_the_invocation_retryable_or_not") else {
        return;
    };
    let refusal = |code: &str| Fault::Respond {
        status: "200 OK",
        content_type: "application/json",
        body: json!({
            "FailedCount": 1,
            "SuccessCount": 0,
            "FailedFindings": [{"Id": SECURITYHUB_ID, "ErrorCode": code, "ErrorMessage": "refused (injected)"}]
        })
        .to_string(),
    };
    // Security Hub is not enabled, or the finding is invalid: a retry gives the same answer.
    hub.proxy.add(Rule {
        operation: "",
        times: 1,
        fault: refusal("InvalidAccess"),
    });
    let error = hub.invoke(&sample("drift-detected.console-sg.json")).expect_error();
    assert_eq!(error.error_type(), Some("NotRetryable"), "{error:?}");
    let message = error.error_message().unwrap_or_default();
    assert!(
        message.contains("Security Hub refused 1 of the findings")
            && message.contains("driftguard/dg-1500731b7ee4b0bc (InvalidAccess: refused (injected))"),
        "{message}"
    );
    // An internal error on Security Hub's side: worth retrying.
    hub.proxy.clear();
    hub.proxy.add(Rule {
        operation: "",
        times: 2,
        fault: refusal("InternalException"),
    });
    let error = hub.invoke(&sample("drift-detected.console-sg.json")).expect_error();
    assert_eq!(error.error_type(), Some("Retryable"), "{error:?}");
    // The retry Lambda makes imports it.
    let answer = hub.answer(&sample("drift-detected.console-sg.json"));
    assert_eq!(answer["status"], "imported");
    assert_eq!(hub.findings().len(), 1);
}
