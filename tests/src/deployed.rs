//! DriftGuard's SAM template deployed on moto's CloudFormation, the way `sam deploy` deploys it:
//! translated offline (`tests/sam_translate.py`: the AWS::LanguageExtensions and
//! AWS::Serverless transforms, with the libraries of the SAM CLI), then created as a stack, so a
//! test drives the wiring the template declares (buses, rules, queues, event source mapping, the
//! functions' environment) instead of a hand-made copy of it.
//!
//! moto's CloudFormation and EventBridge fall short of AWS in a few places. Each gap is worked
//! around here by name ([`Workaround`]), and a test lists the names it relied on, so none is
//! taken silently. Resource types moto's CloudFormation does not implement (CloudWatch alarms,
//! `AWS::Lambda::EventInvokeConfig`, `AWS::SQS::QueuePolicy`, `AWS::IAM::RolePolicy`) are skipped
//! by moto with a warning and are not exercised: moto enforces no IAM, bucket or key policy anyway.
//!
//! The translation needs the SAM CLI (`python3 -m pip install aws-sam-cli`, which brings
//! `aws-sam-translator`). Without it, [`translate_or_skip`] skips with a notice, unless
//! [`REQUIRE_SAM_ENV`] is set (`.ci/run` sets it after installing the SAM CLI): then it fails.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

/// When set (to anything but empty or `0`), a missing SAM CLI fails [`translate_or_skip`].
pub const REQUIRE_SAM_ENV: &str = "DRIFTGUARD_REQUIRE_SAM";
/// The bucket the functions' code objects are "uploaded" to (what `sam package` does).
pub const CODE_BUCKET: &str = "driftguard-artifacts";
/// The member account of the tests (the central stack is in [`crate::runtime_api::ACCOUNT_ID`]).
pub const SPOKE_ACCOUNT: &str = "210987654321";

/// A moto gap and what the test does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Workaround {
    /// moto resolves `{"Ref": <AWS::Events::EventBus>}` to its bus object instead of the bus
    /// name, and fails the stack (rules on the bus) or sets an object as a function's variable.
    /// Each such `Ref` is replaced by the bus's `Name` property (what CloudFormation's `Ref`
    /// returns), with a `DependsOn` on the bus to keep the order the `Ref` gave.
    EventBusRefByName,
    /// moto keeps a `Number` parameter a JSON number, also where CloudFormation makes it a string:
    /// a function's variable `!Ref` to one then holds a number (which Lambda's API never
    /// returns, and the SDK refuses); and it leaves a `CommaDelimitedList` default unsplit
    /// (`!Join` then joins its characters). Such a variable becomes `!Sub "${Parameter}"` (the
    /// same string in CloudFormation), and every list parameter is passed explicitly.
    ParametersAsCloudFormationPassesThem,
    /// moto's SQS invokes the function of an enabled event source mapping itself (in Docker) on
    /// every message. The test checks the mapping the stack created, disables it, and plays it:
    /// receives up to its batch size, invokes the compiled function through the Runtime API with
    /// an SQS event, deletes what the function did not report as failed.
    EventSourceMappingPlayedByTheTest,
    /// moto's EventBridge implements no Lambda target: an event matching a rule with one fails
    /// the whole `PutEvents` (HTTP 500), and moto matches a schedule rule (no pattern) to every
    /// event on its bus. Every Lambda target of the stack's rules is read (the test checks the
    /// function it names) and removed; where the test observes a rule, an SQS queue of its own
    /// is the rule's target instead, and receives what the function would.
    LambdaTargetsReplacedByQueues,
}

impl Workaround {
    /// The name a test lists.
    pub fn name(self) -> &'static str {
        match self {
            Workaround::EventBusRefByName => "event-bus-ref-by-name",
            Workaround::ParametersAsCloudFormationPassesThem => "parameters-as-cloudformation-passes-them",
            Workaround::EventSourceMappingPlayedByTheTest => "event-source-mapping-played-by-the-test",
            Workaround::LambdaTargetsReplacedByQueues => "lambda-targets-replaced-by-queues",
        }
    }
}

/// Why a translation did not happen.
#[derive(Debug)]
pub enum TranslateError {
    /// python3 or the SAM CLI's libraries are absent.
    ToolMissing(String),
    /// The translator refused the template, or could not run.
    Failed(String),
}

/// Translates `template` with `parameters` for a stack named `stack_name` in the test account
/// and region (`tests/sam_translate.py`); every function's code is at `s3://`[`CODE_BUCKET`]`/<binary>.zip`.
pub fn translate(
    template: &Path,
    parameters: &BTreeMap<String, String>,
    stack_name: &str,
) -> Result<Value, TranslateError> {
    let script = crate::stack::workspace().join("tests/sam_translate.py");
    let parameters = serde_json::to_string(parameters).map_err(|e| TranslateError::Failed(e.to_string()))?;
    let output = Command::new("python3")
        .arg(&script)
        .arg(template)
        .args(["--code-bucket", CODE_BUCKET, "--parameters", &parameters])
        .args([
            "--region",
            crate::runtime_api::REGION,
            "--account-id",
            crate::runtime_api::ACCOUNT_ID,
        ])
        .args(["--stack-name", stack_name])
        .env("SAM_CLI_TELEMETRY", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TranslateError::ToolMissing(format!("cannot run python3: {e}")))?;
    let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    match output.status.code() {
        Some(0) => serde_json::from_slice(&output.stdout)
            .map_err(|e| TranslateError::Failed(format!("{} wrote no JSON: {e}", script.display()))),
        Some(2) => Err(TranslateError::ToolMissing(stderr)),
        _ => Err(TranslateError::Failed(format!(
            "{} {}: {stderr}",
            script.display(),
            output.status
        ))),
    }
}

/// [`translate`] for tests: `None` after a notice when the SAM CLI is absent and
/// [`REQUIRE_SAM_ENV`] is not set; a panic when the translation fails, or the tool is required.
pub fn translate_or_skip(
    test: &str,
    template: &Path,
    parameters: &BTreeMap<String, String>,
    stack_name: &str,
) -> Option<Value> {
    match translate(template, parameters, stack_name) {
        Ok(translated) => Some(translated),
        Err(TranslateError::ToolMissing(why)) if !required() => {
            crate::notice(&format!(
                "SKIPPED {test}: the SAM translator is not installed ({why}) (CI sets {REQUIRE_SAM_ENV}=1, \
                 which makes this a failure)"
            ));
            None
        }
        Err(TranslateError::ToolMissing(why) | TranslateError::Failed(why)) => {
            panic!("{test}: translating {}: {why}", template.display())
        }
    }
}

fn required() -> bool {
    std::env::var(REQUIRE_SAM_ENV).is_ok_and(|value| !value.is_empty() && value != "0")
}

/// Applies the template rewrites moto needs ([`Workaround::EventBusRefByName`],
/// [`Workaround::ParametersAsCloudFormationPassesThem`]) to a translated template and the
/// parameters it will be created with; returns the workarounds that changed something.
pub fn for_moto(template: &mut Value, parameters: &mut BTreeMap<String, String>) -> BTreeSet<Workaround> {
    let mut applied = BTreeSet::new();

    let buses: BTreeMap<String, Value> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Events::EventBus")
        .map(|(id, r)| {
            let name = r["Properties"]["Name"].clone();
            assert!(
                !name.is_null(),
                "{id}: a bus without a Name property (the rewrite needs it)"
            );
            (id.clone(), name)
        })
        .collect();
    if let Some(resources) = template["Resources"].as_object_mut() {
        for resource in resources.values_mut() {
            let mut referenced = BTreeSet::new();
            replace_bus_refs(resource, &buses, &mut referenced);
            if referenced.is_empty() {
                continue;
            }
            applied.insert(Workaround::EventBusRefByName);
            let mut depends: BTreeSet<String> = match resource.get("DependsOn") {
                Some(Value::String(one)) => [one.clone()].into(),
                Some(Value::Array(many)) => many.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect(),
                _ => BTreeSet::new(),
            };
            depends.extend(referenced);
            resource["DependsOn"] = json!(depends);
        }
    }
    if let Some(outputs) = template.get_mut("Outputs") {
        let mut referenced = BTreeSet::new();
        replace_bus_refs(outputs, &buses, &mut referenced);
        if !referenced.is_empty() {
            applied.insert(Workaround::EventBusRefByName);
        }
    }

    let mut numbers = BTreeSet::new();
    if let Some(declared) = template["Parameters"].as_object_mut() {
        for (name, parameter) in declared {
            match parameter["Type"].as_str() {
                Some("Number") => {
                    numbers.insert(name.clone());
                }
                Some("CommaDelimitedList") if !parameters.contains_key(name) => {
                    if let Some(default) = parameter.get("Default").and_then(Value::as_str) {
                        parameters.insert(name.clone(), default.to_owned());
                        applied.insert(Workaround::ParametersAsCloudFormationPassesThem);
                    }
                }
                _ => {}
            }
        }
    }
    if let Some(resources) = template["Resources"].as_object_mut() {
        let functions = resources.values_mut().filter(|r| r["Type"] == "AWS::Lambda::Function");
        for function in functions {
            let Some(variables) = function["Properties"]["Environment"]["Variables"].as_object_mut() else {
                continue;
            };
            for value in variables.values_mut() {
                let number = value
                    .get("Ref")
                    .and_then(Value::as_str)
                    .filter(|p| numbers.contains(*p));
                if let Some(parameter) = number {
                    *value = json!({ "Fn::Sub": format!("${{{parameter}}}") });
                    applied.insert(Workaround::ParametersAsCloudFormationPassesThem);
                }
            }
        }
    }
    applied
}

fn replace_bus_refs(value: &mut Value, buses: &BTreeMap<String, Value>, referenced: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(name) = map
                    .get("Ref")
                    .and_then(Value::as_str)
                    .and_then(|id| buses.get_key_value(id))
                {
                    referenced.insert(name.0.clone());
                    *value = name.1.clone();
                    return;
                }
            }
            for v in map.values_mut() {
                replace_bus_refs(v, buses, referenced);
            }
        }
        Value::Array(items) => {
            for v in items {
                replace_bus_refs(v, buses, referenced);
            }
        }
        _ => {}
    }
}

/// A created stack: its outputs and its resources' physical ids.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The stack's name.
    pub name: String,
    /// Output key → value.
    pub outputs: BTreeMap<String, String>,
    /// Logical id → (type, physical id).
    pub resources: BTreeMap<String, (String, String)>,
}

impl Deployed {
    /// The output `key`, or a panic naming the stack.
    pub fn output(&self, key: &str) -> &str {
        self.outputs
            .get(key)
            .unwrap_or_else(|| panic!("stack {} has no output {key}: {:?}", self.name, self.outputs))
    }

    /// The physical id of the resource `logical_id`, or a panic naming the stack.
    pub fn physical(&self, logical_id: &str) -> &str {
        self.resources
            .get(logical_id)
            .map(|(_, physical)| physical.as_str())
            .unwrap_or_else(|| panic!("stack {} has no resource {logical_id}", self.name))
    }
}

/// Creates the stack `name` from `template` (JSON or YAML text) with `parameters`, in the
/// account `sdk`'s credentials belong to, and waits until it is complete.
pub async fn create_stack(
    sdk: &SdkConfig,
    name: &str,
    template: &str,
    parameters: &BTreeMap<String, String>,
) -> Result<Deployed, String> {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let mut create = cfn
        .create_stack()
        .stack_name(name)
        .template_body(template)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand);
    for (key, value) in parameters {
        create = create.parameters(Parameter::builder().parameter_key(key).parameter_value(value).build());
    }
    create.send().await.map_err(|e| format!("create stack {name}: {e:?}"))?;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let stack = loop {
        let described = cfn
            .describe_stacks()
            .stack_name(name)
            .send()
            .await
            .map_err(|e| format!("describe stack {name}: {e:?}"))?;
        let stack = described
            .stacks()
            .first()
            .cloned()
            .ok_or(format!("stack {name} not found"))?;
        let status = stack.stack_status().map(|s| s.as_str().to_owned()).unwrap_or_default();
        if !status.ends_with("_IN_PROGRESS") {
            if status != "CREATE_COMPLETE" {
                return Err(format!(
                    "stack {name}: {status}: {}",
                    stack.stack_status_reason().unwrap_or_default()
                ));
            }
            break stack;
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("stack {name} still {status} after 60 s"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    let described = cfn
        .describe_stack_resources()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| format!("describe the resources of {name}: {e:?}"))?;
    // moto lists the resource types it skipped without a logical id.
    let resources = described
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_owned(),
                (
                    r.resource_type()?.to_owned(),
                    r.physical_resource_id().unwrap_or_default().to_owned(),
                ),
            ))
        })
        .collect();
    Ok(Deployed {
        name: name.to_owned(),
        outputs,
        resources,
    })
}

/// Puts a placeholder code object for every function of `template` (`Code.S3Bucket` /
/// `Code.S3Key`), as `sam package` uploads the built code, so moto can create the functions;
/// the functions are never run by moto (the tests run the compiled binaries themselves).
pub async fn upload_code(sdk: &SdkConfig, template: &Value) -> Result<(), String> {
    let s3 = driftguard_aws::s3_client(sdk, true);
    let location = aws_sdk_s3::types::BucketLocationConstraint::from(crate::runtime_api::REGION);
    s3.create_bucket()
        .bucket(CODE_BUCKET)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(location)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("create the code bucket: {e:?}"))?;
    let keys: BTreeSet<&str> = template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Function")
        .filter_map(|(_, r)| r["Properties"]["Code"]["S3Key"].as_str())
        .collect();
    for key in keys {
        s3.put_object()
            .bucket(CODE_BUCKET)
            .key(key)
            .body(
                format!("placeholder for {key}: the tests run the compiled function")
                    .into_bytes()
                    .into(),
            )
            .send()
            .await
            .map_err(|e| format!("put the code object {key}: {e:?}"))?;
    }
    Ok(())
}

/// SDK configuration for `account`: the credentials of an STS `AssumeRole` into a role there,
/// as an operator works in a member account (moto runs each request in the account its
/// credentials were issued for).
pub async fn account_sdk(sdk: &SdkConfig, account: &str) -> Result<SdkConfig, String> {
    let assumed = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
        .role_session_name("driftguard-tests")
        .send()
        .await
        .map_err(|e| format!("assume a role in {account}: {e:?}"))?;
    let credentials = assumed.credentials().ok_or(format!("no credentials for {account}"))?;
    let endpoint = sdk
        .endpoint_url()
        .ok_or("the SDK configuration has no endpoint")?
        .to_owned();
    Ok(aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(crate::runtime_api::REGION))
        .credentials_provider(Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_owned()),
            None,
            "driftguard-tests-assumed",
        ))
        .load()
        .await)
}

/// A function as the stack deployed it: what Lambda's `GetFunctionConfiguration` says.
#[derive(Debug, Clone)]
pub struct DeployedFunction {
    /// The function's name (physical id).
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its environment variables, as CloudFormation resolved them.
    pub environment: BTreeMap<String, String>,
    /// Its memory (MB).
    pub memory_size: Option<i32>,
}

/// The deployed configuration of the function `name`.
pub async fn function(sdk: &SdkConfig, name: &str) -> Result<DeployedFunction, String> {
    let got = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| format!("get the configuration of {name}: {e:?}"))?;
    let environment = got
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(DeployedFunction {
        name: name.to_owned(),
        arn: got.function_arn().unwrap_or_default().to_owned(),
        environment,
        memory_size: got.memory_size(),
    })
}

/// An event source mapping as the stack created it.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The queue (or stream) ARN.
    pub source_arn: String,
    /// The function ARN.
    pub function_arn: String,
    /// Records per invocation.
    pub batch_size: usize,
    /// Whether the function answers `batchItemFailures`.
    pub reports_item_failures: bool,
}

/// Reads the event source mapping `uuid` and disables it
/// ([`Workaround::EventSourceMappingPlayedByTheTest`]).
pub async fn take_over_mapping(sdk: &SdkConfig, uuid: &str) -> Result<Mapping, String> {
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let got = lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .map_err(|e| format!("get the event source mapping {uuid}: {e:?}"))?;
    lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .enabled(false)
        .send()
        .await
        .map_err(|e| format!("disable the event source mapping {uuid}: {e:?}"))?;
    Ok(Mapping {
        source_arn: got.event_source_arn().unwrap_or_default().to_owned(),
        function_arn: got.function_arn().unwrap_or_default().to_owned(),
        batch_size: got.batch_size().and_then(|b| usize::try_from(b).ok()).unwrap_or(10),
        reports_item_failures: got
            .function_response_types()
            .iter()
            .any(|t| t.as_str() == "ReportBatchItemFailures"),
    })
}

/// A queue: its URL and ARN.
#[derive(Debug, Clone)]
pub struct Queue {
    /// The queue URL.
    pub url: String,
    /// The queue ARN.
    pub arn: String,
}

/// The ARN of the queue at `url`.
pub async fn queue(sdk: &SdkConfig, url: &str) -> Result<Queue, String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let attributes = aws_sdk_sqs::Client::new(sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("attributes of {url}: {e:?}"))?;
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or(format!("{url} has no ARN"))?;
    Ok(Queue {
        url: url.to_owned(),
        arn,
    })
}

/// Receives up to `batch_size` messages from `queue` (waiting up to a second for the first) and
/// returns them as the SQS event Lambda's event source mapping hands a function, with each
/// message's receipt handle by message id.
pub async fn receive_batch(
    sdk: &SdkConfig,
    queue: &Queue,
    batch_size: usize,
) -> Result<(Value, BTreeMap<String, String>), String> {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    let got = aws_sdk_sqs::Client::new(sdk)
        .receive_message()
        .queue_url(&queue.url)
        .max_number_of_messages(i32::try_from(batch_size.clamp(1, 10)).unwrap_or(10))
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .map_err(|e| format!("receive from {}: {e:?}", queue.url))?;
    let mut handles = BTreeMap::new();
    let records: Vec<Value> = got
        .messages()
        .iter()
        .map(|m| {
            let id = m.message_id().unwrap_or_default().to_owned();
            handles.insert(id.clone(), m.receipt_handle().unwrap_or_default().to_owned());
            let attributes: BTreeMap<&str, &str> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!({
                "messageId": id,
                "receiptHandle": m.receipt_handle().unwrap_or_default(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body().unwrap_or_default(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue.arn,
                "awsRegion": crate::runtime_api::REGION,
            })
        })
        .collect();
    Ok((json!({ "Records": records }), handles))
}

/// Deletes the messages of a batch the function handled: all but those its answer names in
/// `batchItemFailures`, as the event source mapping does. Returns how many were deleted.
pub async fn acknowledge(
    sdk: &SdkConfig,
    queue: &Queue,
    handles: &BTreeMap<String, String>,
    answer: &Value,
) -> Result<usize, String> {
    let failed: BTreeSet<&str> = answer["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["itemIdentifier"].as_str())
        .collect();
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut deleted = 0;
    for (id, handle) in handles {
        if failed.contains(id.as_str()) {
            continue;
        }
        sqs.delete_message()
            .queue_url(&queue.url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| format!("delete {id} from {}: {e:?}", queue.url))?;
        deleted += 1;
    }
    Ok(deleted)
}

/// A rule's targets: (id, ARN).
pub async fn targets(sdk: &SdkConfig, bus: &str, rule: &str) -> Result<Vec<(String, String)>, String> {
    let got = aws_sdk_eventbridge::Client::new(sdk)
        .list_targets_by_rule()
        .rule(rule)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| format!("targets of {rule}: {e:?}"))?;
    Ok(got
        .targets()
        .iter()
        .map(|t| (t.id().to_owned(), t.arn().to_owned()))
        .collect())
}

/// A rule's targets: (id, ARN, the target's dead-letter queue ARN).
pub async fn target_dead_letters(
    sdk: &SdkConfig,
    bus: &str,
    rule: &str,
) -> Result<Vec<(String, String, Option<String>)>, String> {
    let got = aws_sdk_eventbridge::Client::new(sdk)
        .list_targets_by_rule()
        .rule(rule)
        .event_bus_name(bus)
        .send()
        .await
        .map_err(|e| format!("targets of {rule}: {e:?}"))?;
    Ok(got
        .targets()
        .iter()
        .map(|t| {
            (
                t.id().to_owned(),
                t.arn().to_owned(),
                t.dead_letter_config().and_then(|d| d.arn()).map(str::to_owned),
            )
        })
        .collect())
}

/// A Lambda target a rule of the stack had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    /// The rule's logical id in the stack.
    pub rule_logical_id: String,
    /// The rule's name.
    pub rule: String,
    /// The bus the rule is on.
    pub bus: String,
    /// The function the rule invokes.
    pub function_arn: String,
    /// The target's dead-letter queue (`DeadLetterConfig.Arn`), if it has one.
    pub dead_letter_arn: Option<String>,
}

/// Removes every Lambda target of the rules of `deployed` (on any bus), returning them
/// ([`Workaround::LambdaTargetsReplacedByQueues`]).
pub async fn remove_lambda_targets(sdk: &SdkConfig, deployed: &Deployed) -> Result<Vec<LambdaTarget>, String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let rules: BTreeMap<&str, &str> = deployed
        .resources
        .iter()
        .filter(|(_, (kind, _))| kind == "AWS::Events::Rule")
        .map(|(logical, (_, physical))| (physical.as_str(), logical.as_str()))
        .collect();
    let buses = events
        .list_event_buses()
        .send()
        .await
        .map_err(|e| format!("list the buses: {e:?}"))?;
    let mut removed = Vec::new();
    for bus in buses.event_buses().iter().filter_map(|b| b.name()) {
        let listed = events
            .list_rules()
            .event_bus_name(bus)
            .send()
            .await
            .map_err(|e| format!("list the rules of {bus}: {e:?}"))?;
        for rule in listed.rules().iter().filter_map(|r| r.name()) {
            let Some(logical) = rules.get(rule) else { continue };
            let lambda: Vec<(String, String, Option<String>)> = target_dead_letters(sdk, bus, rule)
                .await?
                .into_iter()
                .filter(|(_, arn, _)| arn.starts_with("arn:aws:lambda:"))
                .collect();
            if lambda.is_empty() {
                continue;
            }
            events
                .remove_targets()
                .rule(rule)
                .event_bus_name(bus)
                .set_ids(Some(lambda.iter().map(|(id, _, _)| id.clone()).collect()))
                .send()
                .await
                .map_err(|e| format!("remove the Lambda targets of {rule}: {e:?}"))?;
            removed.extend(lambda.into_iter().map(|(_, arn, dead_letter_arn)| LambdaTarget {
                rule_logical_id: (*logical).to_owned(),
                rule: rule.to_owned(),
                bus: bus.to_owned(),
                function_arn: arn,
                dead_letter_arn,
            }));
        }
    }
    Ok(removed)
}

/// Creates the queue `name` and adds it to the rule `rule` on `bus` as a target
/// ([`Workaround::LambdaTargetsReplacedByQueues`]).
pub async fn observe_rule(sdk: &SdkConfig, bus: &str, rule: &str, name: &str) -> Result<Queue, String> {
    let url = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| format!("create the queue {name}: {e:?}"))?
        .queue_url
        .unwrap_or_default();
    let observer = queue(sdk, &url).await?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("driftguard-tests-observer")
        .arn(&observer.arn)
        .build()
        .map_err(|e| format!("target: {e:?}"))?;
    let put = aws_sdk_eventbridge::Client::new(sdk)
        .put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| format!("add the observer to {rule}: {e:?}"))?;
    if put.failed_entry_count() > 0 {
        return Err(format!("add the observer to {rule}: {:?}", put.failed_entries()));
    }
    Ok(observer)
}

/// Receives (and deletes) every message `queue` holds now, parsed as JSON.
pub async fn drain(sdk: &SdkConfig, queue: &Queue) -> Result<Vec<Value>, String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| format!("receive from {}: {e:?}", queue.url))?;
        if got.messages().is_empty() {
            return Ok(out);
        }
        for m in got.messages() {
            let body = m.body().unwrap_or("null");
            out.push(serde_json::from_str(body).map_err(|e| format!("a message that is not JSON ({e}): {body}"))?);
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&queue.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| format!("delete from {}: {e:?}", queue.url))?;
            }
        }
    }
}

/// What a consumer that fails every message does to `queue`, as Lambda's event source mapping
/// does with a function that keeps failing: receives every message and never deletes it, until
/// the queue's redrive policy has moved them all to its dead-letter queue (the visibility timeout
/// is 0 here, where the queue's would make each retry wait). Returns the most receives a message
/// had before it was moved: the redrive policy's `maxReceiveCount`.
pub async fn fail_every_receive(sdk: &SdkConfig, queue: &Queue) -> Result<usize, String> {
    use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let mut most = 0;
    for _ in 0..200 {
        let got = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| format!("receive from {}: {e:?}", queue.url))?;
        for m in got.messages() {
            let count = m
                .attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            most = most.max(count);
        }
        if !got.messages().is_empty() {
            continue;
        }
        // Nothing visible: done once nothing is in flight either (a message received a moment
        // ago may not be visible again yet).
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| format!("attributes of {}: {e:?}", queue.url))?;
        let held: usize = attributes
            .attributes()
            .into_iter()
            .flatten()
            .filter_map(|(_, n)| n.parse::<usize>().ok())
            .sum();
        if held == 0 {
            return Ok(most);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Err(format!("{} never moved its messages to a dead-letter queue", queue.url))
}

/// How many messages `url` holds (`ApproximateNumberOfMessages`: visible ones).
pub async fn queue_depth(sdk: &SdkConfig, url: &str) -> Result<usize, String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let got = aws_sdk_sqs::Client::new(sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| format!("attributes of {url}: {e:?}"))?;
    got.attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .ok_or(format!("{url}: no ApproximateNumberOfMessages"))
}

/// The `--from` and `--to` of a redrive command as a `<queue>Redrive` output prints it
/// (`driftguard dlq redrive --from URL --to URL|ARN`), or why it is not one.
pub fn printed_redrive(command: &str) -> Result<(String, String), String> {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.as_slice() {
        ["driftguard", "dlq", "redrive", "--from", from, "--to", to] => Ok(((*from).to_owned(), (*to).to_owned())),
        _ => Err(format!("not a redrive command: {command:?}")),
    }
}

/// Runs a redrive command as a `<queue>Redrive` output prints it, through the code `driftguard
/// dlq redrive` runs (`driftguard_aws::SqsRedrive`), with `sdk`'s credentials and endpoint.
pub async fn redrive_as_printed(
    sdk: &SdkConfig,
    command: &str,
) -> Result<driftguard_core::dead_letter::RedriveReport, String> {
    let (from, to) = printed_redrive(command)?;
    let redrive = driftguard_aws::SqsRedrive::new(aws_sdk_sqs::Client::new(sdk), aws_sdk_lambda::Client::new(sdk));
    let target = if to.starts_with("http") {
        redrive.queue_target(&to).await.map_err(|e| e.to_string())?
    } else {
        driftguard_aws::RedriveTarget::Function { arn: to }
    };
    redrive
        .run(&from, &target, driftguard_aws::RedriveOptions::default())
        .await
        .map_err(|e| e.to_string())
}

/// Puts `event` (an EventBridge event as a rule delivers it: `source`, `detail-type`, `detail`,
/// `resources`) on the bus `bus`, as the service that emits it would.
pub async fn put_event(sdk: &SdkConfig, bus: &str, event: &Value) -> Result<(), String> {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .set_resources(Some(
            event["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
        ))
        .build();
    let put = aws_sdk_eventbridge::Client::new(sdk)
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| format!("put an event on {bus}: {e:?}"))?;
    if put.failed_entry_count() > 0 {
        return Err(format!("put an event on {bus}: {:?}", put.entries()));
    }
    Ok(())
}

/// Creates the bucket `bucket` in the account of `sdk` and puts `objects` (key, bytes) in it.
pub async fn bucket_with(sdk: &SdkConfig, bucket: &str, objects: &[(String, Vec<u8>)]) -> Result<(), String> {
    let s3 = driftguard_aws::s3_client(sdk, true);
    let location = aws_sdk_s3::types::BucketLocationConstraint::from(crate::runtime_api::REGION);
    s3.create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(location)
                .build(),
        )
        .send()
        .await
        .map_err(|e| format!("create {bucket}: {e:?}"))?;
    put_objects(sdk, bucket, objects).await
}

/// Puts `objects` (key, bytes) in the existing bucket `bucket`.
pub async fn put_objects(sdk: &SdkConfig, bucket: &str, objects: &[(String, Vec<u8>)]) -> Result<(), String> {
    let s3 = driftguard_aws::s3_client(sdk, true);
    for (key, bytes) in objects {
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.clone().into())
            .send()
            .await
            .map_err(|e| format!("put s3://{bucket}/{key}: {e:?}"))?;
    }
    Ok(())
}

/// Writes the SSM `String` parameter `name` in the account of `sdk`.
pub async fn put_parameter(sdk: &SdkConfig, name: &str, text: &str) -> Result<(), String> {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(text)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("put the parameter {name}: {e:?}"))
}

/// The server-side encryption of `s3://bucket/key`: (algorithm, KMS key id), as `HeadObject`
/// reports them.
pub async fn object_encryption(
    sdk: &SdkConfig,
    bucket: &str,
    key: &str,
) -> Result<(Option<String>, Option<String>), String> {
    let head = driftguard_aws::s3_client(sdk, true)
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("head s3://{bucket}/{key}: {e:?}"))?;
    Ok((
        head.server_side_encryption().map(|s| s.as_str().to_owned()),
        head.ssekms_key_id().map(str::to_owned),
    ))
}

/// Sets the policy of `bucket` (in the account of `sdk`).
pub async fn put_bucket_policy(sdk: &SdkConfig, bucket: &str, policy: &Value) -> Result<(), String> {
    driftguard_aws::s3_client(sdk, true)
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("put the policy of {bucket}: {e:?}"))
}

#[cfg(test)]
mod tests {
    //! The template rewrites, on a small template (no moto, no SAM CLI).

    use super::*;

    #[test]
    fn moto_rewrites_are_named_and_keep_what_cloudformation_resolves() {
        let mut template = json!({
            "Parameters": {
                "Seconds": {"Type": "Number", "Default": 30},
                "Types": {"Type": "CommaDelimitedList", "Default": "none"},
                "Given": {"Type": "CommaDelimitedList", "Default": "a"},
                "Name": {"Type": "String", "Default": ""}
            },
            "Resources": {
                "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}}},
                "Rule": {"Type": "AWS::Events::Rule", "DependsOn": "Queue", "Properties": {"EventBusName": {"Ref": "Bus"}}},
                "Function": {"Type": "AWS::Lambda::Function", "Properties": {
                    "MemorySize": {"Ref": "Seconds"},
                    "Environment": {"Variables": {"BUS": {"Ref": "Bus"}, "SECONDS": {"Ref": "Seconds"}, "NAME": {"Ref": "Name"}}}
                }},
                "Queue": {"Type": "AWS::SQS::Queue"}
            },
            "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}}
        });
        let mut parameters = BTreeMap::from([("Given".to_owned(), "b,c".to_owned())]);
        let applied = for_moto(&mut template, &mut parameters);

        assert_eq!(
            applied,
            BTreeSet::from([
                Workaround::EventBusRefByName,
                Workaround::ParametersAsCloudFormationPassesThem
            ])
        );
        let name = json!({"Fn::Sub": "${AWS::StackName}-bus"});
        let resources = &template["Resources"];
        assert_eq!(resources["Rule"]["Properties"]["EventBusName"], name);
        assert_eq!(resources["Rule"]["DependsOn"], json!(["Bus", "Queue"]));
        let variables = &resources["Function"]["Properties"]["Environment"]["Variables"];
        assert_eq!(variables["BUS"], name);
        assert_eq!(variables["SECONDS"], json!({"Fn::Sub": "${Seconds}"}));
        assert_eq!(
            variables["NAME"],
            json!({"Ref": "Name"}),
            "a String parameter is left alone"
        );
        assert_eq!(
            resources["Function"]["Properties"]["MemorySize"],
            json!({"Ref": "Seconds"}),
            "a number outside the environment stays a number"
        );
        assert_eq!(resources["Function"]["DependsOn"], json!(["Bus"]));
        assert_eq!(template["Outputs"]["BusName"]["Value"], name);
        assert_eq!(
            parameters,
            BTreeMap::from([
                ("Given".to_owned(), "b,c".to_owned()),
                ("Types".to_owned(), "none".to_owned())
            ]),
            "list defaults are passed, given values kept"
        );
    }
}
