//! A loopback stand-in for AWS Config for the resource types moto's Config does not serve (it
//! answers only S3 buckets, IAM roles and policies, and SNS topics from its other backends).
//!
//! It speaks the API's wire protocol (AWS JSON 1.1, `x-amz-target: StarlingDoveService.<Op>`)
//! and holds configuration items in the shape Config records them (the AWS Config RDK's
//! example items in `../shared/data/config-rdk-example-configuration-items`, read at run time,
//! see [`rdk_item`]). For the types it holds it answers itself:
//!
//! - `ListDiscoveredResources`: `resourceIdentifiers` (`resourceType`, `resourceId`,
//!   `resourceName`), at most `limit` (0 or absent: 100) and at most the stand-in's page size
//!   per page, `nextToken` while more remain; `resourceIds` / `resourceName` filter;
//! - `BatchGetResourceConfig`: `baseConfigurationItems` in the base shape (`configuration` as
//!   JSON text, `supplementaryConfiguration` a map of JSON texts without `Tags`, no `tags`, no
//!   relationships, times in epoch seconds), keys it does not hold left out (as Config leaves
//!   out deleted resources), `unprocessedResourceKeys` empty;
//! - `GetResourceConfigHistory`: the one current item in the full shape (tags and
//!   relationships included), or `ResourceNotDiscoveredException`.
//!
//! Every other request, and the keys and listings of other types, go upstream unchanged (to
//! moto, or to a [`crate::fault::FaultProxy`] in front of it), so an estate of S3 buckets and
//! IAM roles on moto is swept through the same endpoint (`AWS_ENDPOINT_URL_CONFIG_SERVICE`).

use crate::runtime_api::{read_request, Request};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

/// The folder of the RDK's example configuration items under `../shared/data`.
pub const RDK_ITEMS: &str = "config-rdk-example-configuration-items";

/// The account the RDK's example items were captured in.
pub const RDK_ACCOUNT: &str = "264683526309";
/// The region they were captured in.
pub const RDK_REGION: &str = "us-east-1";

/// Reads `file` (e.g. `AWS_EC2_SecurityGroup.json`) from the RDK's example items under `data`
/// and moves it into `account` and `region`: every string naming the capture account or region
/// (ARNs, owner ids, KMS key ARNs, availability zones) names the test's instead, as Config
/// would record the same resource there.
pub fn rdk_item(data: &Path, file: &str, account: &str, region: &str) -> Result<Value, String> {
    let path = data.join(RDK_ITEMS).join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut item: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    rehome(&mut item, account, region);
    Ok(item)
}

/// Replaces [`RDK_ACCOUNT`] and [`RDK_REGION`] in every string of `value`.
pub fn rehome(value: &mut Value, account: &str, region: &str) {
    match value {
        Value::String(s) if s.contains(RDK_ACCOUNT) || s.contains(RDK_REGION) => {
            *s = s.replace(RDK_ACCOUNT, account).replace(RDK_REGION, region);
        }
        Value::Array(list) => list.iter_mut().for_each(|v| rehome(v, account, region)),
        Value::Object(map) => map.values_mut().for_each(|v| rehome(v, account, region)),
        _ => {}
    }
}

/// A copy of `item` as another resource of its type: `resource_id` replaces the item's id
/// wherever it appears (the id, the ARN, `configuration`'s own id field), `name` its name.
pub fn renamed(item: &Value, resource_id: &str, name: Option<&str>) -> Value {
    let old_id = item["resourceId"].as_str().unwrap_or_default().to_owned();
    let old_name = item["resourceName"].as_str().map(str::to_owned);
    let mut text = item.to_string().replace(&old_id, resource_id);
    if let (Some(old), Some(new)) = (old_name.as_deref(), name) {
        text = text.replace(&format!("\"{old}\""), &format!("\"{new}\""));
        text = text.replace(&format!(":{old}\""), &format!(":{new}\""));
    }
    serde_json::from_str(&text).unwrap_or_else(|_| item.clone())
}

/// A configuration item's time (ISO 8601 text in the RDK's items) as epoch seconds, the JSON
/// protocol's timestamp form.
fn epoch_seconds(v: &Value) -> Value {
    match v.as_str().and_then(driftguard_core::time::Timestamp::parse) {
        Some(t) => json!(t.0 as f64 / 1000.0),
        None => v.clone(),
    }
}

/// The item in `GetResourceConfigHistory`'s `ConfigurationItem` shape.
fn full_shape(item: &Value) -> Value {
    let mut out = Map::new();
    for field in [
        "version",
        "accountId",
        "configurationItemStatus",
        "configurationStateId",
        "configurationItemMD5Hash",
        "arn",
        "resourceType",
        "resourceId",
        "resourceName",
        "awsRegion",
        "availabilityZone",
        "tags",
        "relatedEvents",
        "relationships",
    ] {
        if let Some(v) = item.get(field).filter(|v| !v.is_null()) {
            out.insert(field.into(), v.clone());
        }
    }
    for field in ["configurationItemCaptureTime", "resourceCreationTime"] {
        if let Some(v) = item.get(field).filter(|v| !v.is_null()) {
            out.insert(field.into(), epoch_seconds(v));
        }
    }
    out.insert("configuration".into(), json!(item["configuration"].to_string()));
    out.insert("supplementaryConfiguration".into(), json!(supplementary(item, true)));
    Value::Object(out)
}

/// The item in `BatchGetResourceConfig`'s `BaseConfigurationItem` shape: no tags, no
/// relationships, no related events, no hash, and no `Tags` in the supplementary configuration.
fn base_shape(item: &Value) -> Value {
    let mut out = full_shape(item);
    if let Some(map) = out.as_object_mut() {
        for field in ["tags", "relationships", "relatedEvents", "configurationItemMD5Hash"] {
            map.remove(field);
        }
        map.insert("supplementaryConfiguration".into(), json!(supplementary(item, false)));
    }
    out
}

/// The supplementary configuration as a map of JSON texts (`Tags` left out unless `tags`).
fn supplementary(item: &Value, tags: bool) -> BTreeMap<String, String> {
    item["supplementaryConfiguration"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| tags || k.as_str() != "Tags")
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), text)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Default)]
struct Seen {
    /// Operations answered here, in order.
    answered: Vec<String>,
    /// Operations sent upstream, in order.
    forwarded: Vec<String>,
}

/// The running stand-in; it stops accepting when dropped.
#[derive(Debug)]
pub struct ConfigStandIn {
    port: u16,
    seen: Arc<Mutex<Seen>>,
}

struct Held {
    /// The items, in listing order.
    items: Vec<Value>,
    page_size: usize,
    upstream: String,
}

impl Held {
    fn holds(&self, resource_type: &str) -> bool {
        self.items.iter().any(|i| i["resourceType"] == json!(resource_type))
    }

    fn find(&self, resource_type: &str, id: &str) -> Option<&Value> {
        self.items
            .iter()
            .find(|i| i["resourceType"] == json!(resource_type) && i["resourceId"] == json!(id))
    }
}

impl ConfigStandIn {
    /// Starts the stand-in holding `items` (configuration items as Config records them, e.g.
    /// from [`rdk_item`]), listing at most `page_size` per page, forwarding the rest to
    /// `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, items: Vec<Value>, page_size: usize) -> ConfigStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Config stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let held = Arc::new(Held {
            items,
            page_size: page_size.max(1),
            upstream: upstream.trim_start_matches("http://").trim_end_matches('/').to_owned(),
        });
        let shared = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (held, seen) = (held.clone(), shared.clone());
                thread::spawn(move || serve(conn, &held, &seen));
            }
        });
        ConfigStandIn { port, seen }
    }

    /// The endpoint URL (`AWS_ENDPOINT_URL_CONFIG_SERVICE`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests for `operation` the stand-in answered itself.
    pub fn answered(&self, operation: &str) -> usize {
        self.seen
            .lock()
            .map_or(0, |s| s.answered.iter().filter(|o| *o == operation).count())
    }

    /// How many requests for `operation` it sent upstream.
    pub fn forwarded(&self, operation: &str) -> usize {
        self.seen
            .lock()
            .map_or(0, |s| s.forwarded.iter().filter(|o| *o == operation).count())
    }
}

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: config-stand-in\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(conn: TcpStream, held: &Held, seen: &Mutex<Seen>) {
    let Ok(mut writer) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    while let Ok(Some(request)) = read_request(&mut reader, &mut writer) {
        let operation = request
            .header("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("")
            .to_owned();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let here = match operation.as_str() {
            "ListDiscoveredResources" | "GetResourceConfigHistory" => {
                body["resourceType"].as_str().is_some_and(|t| held.holds(t))
            }
            "BatchGetResourceConfig" => body["resourceKeys"].as_array().is_some_and(|keys| {
                keys.iter()
                    .any(|k| k["resourceType"].as_str().is_some_and(|t| held.holds(t)))
            }),
            _ => false,
        };
        let response = if here {
            if let Ok(mut s) = seen.lock() {
                s.answered.push(operation.clone());
            }
            match operation.as_str() {
                "ListDiscoveredResources" => list(held, &body),
                "GetResourceConfigHistory" => history(held, &body),
                _ => match batch(held, &request, &body, seen) {
                    Some(r) => r,
                    None => return,
                },
            }
        } else {
            if let Ok(mut s) = seen.lock() {
                s.forwarded.push(operation.clone());
            }
            match crate::fault::forward(&held.upstream, &request) {
                Ok(bytes) => bytes,
                Err(_) => return,
            }
        };
        if writer.write_all(&response).is_err() || request.wants_close() {
            return;
        }
    }
}

fn list(held: &Held, body: &Value) -> Vec<u8> {
    let resource_type = body["resourceType"].as_str().unwrap_or_default();
    let limit = match body["limit"].as_u64() {
        None | Some(0) => 100,
        Some(n) => n as usize,
    };
    let ids: Option<Vec<&str>> = body["resourceIds"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let name = body["resourceName"].as_str();
    let matching: Vec<&Value> = held
        .items
        .iter()
        .filter(|i| i["resourceType"] == json!(resource_type))
        .filter(|i| {
            ids.as_ref()
                .is_none_or(|ids| ids.contains(&i["resourceId"].as_str().unwrap_or_default()))
        })
        .filter(|i| name.is_none_or(|n| i["resourceName"].as_str() == Some(n)))
        .collect();
    let start =
        match body["nextToken"].as_str() {
            None => 0,
            Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n <= matching.len() => n,
                _ => return http(
                    "400 Bad Request",
                    &json!({"__type": "InvalidNextTokenException", "message": "The specified next token is invalid."})
                        .to_string(),
                ),
            },
        };
    let end = (start + limit.min(held.page_size)).min(matching.len());
    let identifiers: Vec<Value> = matching[start..end]
        .iter()
        .map(|i| {
            let mut r = json!({"resourceType": i["resourceType"], "resourceId": i["resourceId"]});
            if let Some(name) = i["resourceName"].as_str() {
                r["resourceName"] = json!(name);
            }
            r
        })
        .collect();
    let mut out = json!({ "resourceIdentifiers": identifiers });
    if end < matching.len() {
        out["nextToken"] = json!(format!("page-{end}"));
    }
    http("200 OK", &out.to_string())
}

fn history(held: &Held, body: &Value) -> Vec<u8> {
    let resource_type = body["resourceType"].as_str().unwrap_or_default();
    let id = body["resourceId"].as_str().unwrap_or_default();
    match held.find(resource_type, id) {
        Some(item) => http(
            "200 OK",
            &json!({ "configurationItems": [full_shape(item)] }).to_string(),
        ),
        None => http(
            "400 Bad Request",
            &json!({"__type": "ResourceNotDiscoveredException",
                "message": format!("Resource {id} of resourceType:{resource_type} is unknown or has not been discovered")})
            .to_string(),
        ),
    }
}

/// The keys of held types answered here; the others asked upstream in one request, their
/// answer merged in. `None` when upstream failed.
fn batch(held: &Held, request: &Request, body: &Value, seen: &Mutex<Seen>) -> Option<Vec<u8>> {
    let keys = body["resourceKeys"].as_array().cloned().unwrap_or_default();
    let (mine, others): (Vec<Value>, Vec<Value>) = keys
        .into_iter()
        .partition(|k| k["resourceType"].as_str().is_some_and(|t| held.holds(t)));
    let mut items: Vec<Value> = mine
        .iter()
        .filter_map(|k| {
            held.find(
                k["resourceType"].as_str().unwrap_or_default(),
                k["resourceId"].as_str().unwrap_or_default(),
            )
        })
        .map(base_shape)
        .collect();
    let mut unprocessed: Vec<Value> = Vec::new();
    if !others.is_empty() {
        if let Ok(mut s) = seen.lock() {
            s.forwarded.push("BatchGetResourceConfig".into());
        }
        let upstream_request = Request {
            method: request.method.clone(),
            target: request.target.clone(),
            version: request.version.clone(),
            headers: request.headers.clone(),
            body: json!({ "resourceKeys": others }).to_string().into_bytes(),
        };
        let bytes = crate::fault::forward(&held.upstream, &upstream_request).ok()?;
        if !bytes.starts_with(b"HTTP/1.1 200") {
            // Upstream's error is the answer, as it would be from one service.
            return Some(bytes);
        }
        let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let answer: Value = serde_json::from_slice(&bytes[split + 4..]).ok()?;
        items.extend(answer["baseConfigurationItems"].as_array().cloned().unwrap_or_default());
        unprocessed.extend(
            answer["unprocessedResourceKeys"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    Some(http(
        "200 OK",
        &json!({"baseConfigurationItems": items, "unprocessedResourceKeys": unprocessed}).to_string(),
    ))
}
