//! A loopback stand-in for CloudFormation's `DescribeStackResources` (by `PhysicalResourceId`)
//! and `DetectStackResourceDrift`, which moto does not serve (moto 5's `DescribeStackResources`
//! reads only `StackName`, and it has no drift detection).
//!
//! CloudFormation speaks the AWS Query protocol: a form-encoded POST (`Action=...&Version=
//! 2010-05-15&...`) answered with XML (`<ActionResponse><ActionResult>...`, lists as `<member>`
//! elements; errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error>` with HTTP 400).
//! The stand-in takes its data in the AWS CLI's JSON output shape (the shape of the documented
//! outputs in ../shared/data) and renders the XML the SDK reads.

use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufReader, Write};
use std::sync::{Arc, Mutex};

/// What `DetectStackResourceDrift` answers for one resource.
#[derive(Debug, Clone)]
pub enum DriftAnswer {
    /// A `StackResourceDrift` object as the AWS CLI prints it.
    Drift(Value),
    /// An error: HTTP status line (`400 Bad Request`), code and message.
    Error(&'static str, &'static str, String),
}

/// One stack resource the stand-in knows.
#[derive(Debug, Clone)]
pub struct Owned {
    /// `StackName`.
    pub stack_name: String,
    /// `StackId`.
    pub stack_id: String,
    /// `LogicalResourceId`.
    pub logical_id: String,
    /// `ResourceType`.
    pub resource_type: String,
    /// The drift answer.
    pub drift: DriftAnswer,
}

/// The running stand-in; it stops accepting when dropped.
#[derive(Debug)]
pub struct CloudFormationStandIn {
    port: u16,
    asked: Arc<Mutex<Vec<(String, String)>>>,
    refused: Arc<Mutex<Vec<String>>>,
}

impl CloudFormationStandIn {
    /// Starts the stand-in over `owned`: physical id → the stack resource. Any other physical id
    /// gets the `ValidationError` CloudFormation answers for a resource no stack owns.
    pub fn start(owned: HashMap<String, Owned>) -> CloudFormationStandIn {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the CloudFormation stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let refused: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let (owned, shared, shared_refused) = (Arc::new(owned), asked.clone(), refused.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (owned, asked, refused) = (owned.clone(), shared.clone(), shared_refused.clone());
                std::thread::spawn(move || {
                    let Ok(mut writer) = conn.try_clone() else { return };
                    let mut reader = BufReader::new(conn);
                    while let Ok(Some(request)) = crate::runtime_api::read_request(&mut reader, &mut writer) {
                        let form = form(&String::from_utf8_lossy(&request.body));
                        let action = form.get("Action").cloned().unwrap_or_default();
                        let refuse = action == "DescribeStackResources"
                            && refused
                                .lock()
                                .is_ok_and(|r| r.iter().any(|id| form.get("PhysicalResourceId") == Some(id)));
                        let (status, body) = if refuse {
                            if let Ok(mut a) = asked.lock() {
                                a.push((
                                    action.clone(),
                                    form.get("PhysicalResourceId").cloned().unwrap_or_default(),
                                ));
                            }
                            error(
                                "403 Forbidden",
                                "AccessDenied",
                                "User is not authorized to perform: cloudformation:DescribeStackResources",
                            )
                        } else {
                            answer(&owned, &action, &form, &asked)
                        };
                        let response = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: text/xml\r\nx-amzn-requestid: cfn-stand-in\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if writer.write_all(response.as_bytes()).is_err() || request.wants_close() {
                            return;
                        }
                    }
                });
            }
        });
        CloudFormationStandIn { port, asked, refused }
    }

    /// From now on, `DescribeStackResources` for `physical_id` is refused (`AccessDenied`, as
    /// for a role without the grant).
    pub fn refuse_lookups_of(&self, physical_id: &str) {
        if let Ok(mut r) = self.refused.lock() {
            r.push(physical_id.to_owned());
        }
    }

    /// The endpoint URL (`AWS_ENDPOINT_URL_CLOUDFORMATION`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `(Action, PhysicalResourceId or LogicalResourceId)` of every request, in order.
    pub fn asked(&self) -> Vec<(String, String)> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// How many requests for `action` arrived.
    pub fn count(&self, action: &str) -> usize {
        self.asked().iter().filter(|(a, _)| a == action).count()
    }
}

const NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

fn answer(
    owned: &HashMap<String, Owned>,
    action: &str,
    form: &HashMap<String, String>,
    asked: &Mutex<Vec<(String, String)>>,
) -> (&'static str, String) {
    let arg = |k: &str| form.get(k).cloned().unwrap_or_default();
    match action {
        "DescribeStackResources" => {
            let physical = arg("PhysicalResourceId");
            if let Ok(mut a) = asked.lock() {
                a.push((action.to_owned(), physical.clone()));
            }
            match owned.get(&physical) {
                None => error(
                    "400 Bad Request",
                    "ValidationError",
                    &format!("Stack for {physical} does not exist"),
                ),
                Some(o) => (
                    "200 OK",
                    format!(
                        "<DescribeStackResourcesResponse xmlns=\"{NS}\"><DescribeStackResourcesResult><StackResources><member>\
                         <StackId>{}</StackId><StackName>{}</StackName><LogicalResourceId>{}</LogicalResourceId>\
                         <PhysicalResourceId>{}</PhysicalResourceId><ResourceType>{}</ResourceType>\
                         <Timestamp>2026-11-01T10:00:00.000Z</Timestamp><ResourceStatus>CREATE_COMPLETE</ResourceStatus>\
                         </member></StackResources></DescribeStackResourcesResult>\
                         <ResponseMetadata><RequestId>cfn-stand-in</RequestId></ResponseMetadata></DescribeStackResourcesResponse>",
                        esc(&o.stack_id),
                        esc(&o.stack_name),
                        esc(&o.logical_id),
                        esc(&physical),
                        esc(&o.resource_type)
                    ),
                ),
            }
        }
        "DetectStackResourceDrift" => {
            let (stack, logical) = (arg("StackName"), arg("LogicalResourceId"));
            if let Ok(mut a) = asked.lock() {
                a.push((action.to_owned(), logical.clone()));
            }
            let found = owned
                .iter()
                .find(|(_, o)| o.logical_id == logical && (o.stack_id == stack || o.stack_name == stack));
            match found {
                None => error(
                    "400 Bad Request",
                    "ValidationError",
                    &format!("Resource {logical} does not exist for stack {stack}"),
                ),
                Some((
                    _,
                    Owned {
                        drift: DriftAnswer::Error(status, code, message),
                        ..
                    },
                )) => error(status, code, message),
                Some((
                    physical,
                    Owned {
                        drift: DriftAnswer::Drift(d),
                        ..
                    },
                )) => (
                    "200 OK",
                    format!(
                        "<DetectStackResourceDriftResponse xmlns=\"{NS}\"><DetectStackResourceDriftResult>{}\
                         </DetectStackResourceDriftResult><ResponseMetadata><RequestId>cfn-stand-in</RequestId>\
                         </ResponseMetadata></DetectStackResourceDriftResponse>",
                        drift_xml(d, physical)
                    ),
                ),
            }
        }
        other => error(
            "400 Bad Request",
            "InvalidAction",
            &format!("the stand-in does not serve {other}"),
        ),
    }
}

/// A CLI-shaped `StackResourceDrift` as the XML element.
fn drift_xml(d: &Value, physical: &str) -> String {
    let text = |k: &str| d.get(k).and_then(Value::as_str).map(esc);
    let mut out = String::from("<StackResourceDrift>");
    for key in [
        "StackId",
        "LogicalResourceId",
        "ResourceType",
        "ExpectedProperties",
        "ActualProperties",
        "StackResourceDriftStatus",
        "Timestamp",
    ] {
        if let Some(v) = text(key) {
            out.push_str(&format!("<{key}>{v}</{key}>"));
        }
    }
    out.push_str(&format!("<PhysicalResourceId>{}</PhysicalResourceId>", esc(physical)));
    if let Some(diffs) = d.get("PropertyDifferences").and_then(Value::as_array) {
        out.push_str("<PropertyDifferences>");
        for diff in diffs {
            out.push_str("<member>");
            for key in ["PropertyPath", "ExpectedValue", "ActualValue", "DifferenceType"] {
                if let Some(v) = diff.get(key).and_then(Value::as_str) {
                    out.push_str(&format!("<{key}>{}</{key}>", esc(v)));
                }
            }
            out.push_str("</member>");
        }
        out.push_str("</PropertyDifferences>");
    }
    out.push_str("</StackResourceDrift>");
    out
}

fn error(status: &'static str, code: &str, message: &str) -> (&'static str, String) {
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
             <RequestId>cfn-stand-in</RequestId></ErrorResponse>",
            esc(code),
            esc(message)
        ),
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A form-encoded body's fields.
fn form(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
