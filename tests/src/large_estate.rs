//! An organisation-sized estate for memory and load runs: the managed AWS resources of the real
//! Terraform states in `../shared/data` repeated with fresh ids into many state files, laid out
//! as Terragrunt lays them out (`live/<account>/<region>/<component>/terraform.tfstate`).
//!
//! Each clone keeps its source's type and attribute layout; what makes it a resource of its own
//! is replaced: its `id` (everywhere the id appears, ARNs included), its `name` and `arn` when
//! they do not contain the id, and the account in its ARNs (each state file belongs to one
//! account). Files are written pretty-printed, as Terraform writes them.

use serde_json::{json, Map, Value};
use std::path::Path;

/// Resources per state file: about 300 files for 200,000 resources.
pub const PER_STATE: usize = 700;

/// One resource instance of a real state, as a template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Terraform type.
    pub tf_type: String,
    /// Resource name in its state.
    pub name: String,
    /// The instance's attributes.
    pub attributes: Map<String, Value>,
    /// The instance's `sensitive_attributes`, kept as they were.
    pub sensitive_attributes: Value,
}

/// The managed `aws_*` resource instances of every format-4 state under `data`
/// (`tfstate-*` folders), in path order.
pub fn templates(data: &Path) -> Vec<Template> {
    let mut files = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(data)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.retain(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("tfstate-"))
    });
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(state) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if state["version"] != 4 {
            continue;
        }
        for res in state["resources"].as_array().into_iter().flatten() {
            let tf_type = res["type"].as_str().unwrap_or("");
            if res["mode"] != "managed" || !tf_type.starts_with("aws_") {
                continue;
            }
            for inst in res["instances"].as_array().into_iter().flatten() {
                if let Some(attributes) = inst["attributes"].as_object() {
                    out.push(Template {
                        tf_type: tf_type.to_owned(),
                        name: res["name"].as_str().unwrap_or("r").to_owned(),
                        attributes: attributes.clone(),
                        sensitive_attributes: inst.get("sensitive_attributes").cloned().unwrap_or(json!([])),
                    });
                }
            }
        }
    }
    out
}

/// The account of the `k`-th state file (40 accounts).
pub fn account(k: usize) -> String {
    format!("{:012}", 210_000_000_000u64 + (k % 40) as u64)
}

/// The `n`-th clone of `t`, in `account`.
pub fn clone_of(t: &Template, n: usize, account: &str) -> Map<String, Value> {
    let suffix = format!("{n:07x}");
    let old_id = t.attributes.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
    let mut text = Value::Object(t.attributes.clone()).to_string();
    let new_id = if old_id.len() >= 6 {
        let new_id = format!("{old_id}-{suffix}");
        text = text.replace(&format!("\"{old_id}\""), &format!("\"{new_id}\""));
        text = text.replace(&format!("/{old_id}\""), &format!("/{new_id}\""));
        text = text.replace(&format!(":{old_id}\""), &format!(":{new_id}\""));
        new_id
    } else {
        format!("{}-{suffix}", t.tf_type)
    };
    let mut attributes: Map<String, Value> = serde_json::from_str(&text).unwrap_or_default();
    attributes.insert("id".into(), Value::String(new_id.clone()));
    for field in ["arn", "name"] {
        if let Some(v) = attributes.get(field).and_then(Value::as_str) {
            if !v.contains(&new_id) && !v.is_empty() {
                let fresh = format!("{v}-{suffix}");
                attributes.insert(field.into(), Value::String(fresh));
            }
        }
    }
    if let Some(arn) = attributes.get("arn").and_then(Value::as_str) {
        let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() == 6 && parts[4].len() == 12 {
            parts[4] = account;
            let arn = parts.join(":");
            attributes.insert("arn".into(), Value::String(arn));
        }
    }
    attributes
}

/// An estate of `resources` resource instances cloned from `templates`, as
/// `(key under the state prefix, state file bytes)`, [`PER_STATE`] per file.
pub fn files(templates: &[Template], resources: usize) -> Vec<(String, Vec<u8>)> {
    assert!(!templates.is_empty(), "no Terraform state templates");
    let regions = ["eu-west-1", "us-east-1"];
    let mut out = Vec::new();
    let mut n = 0;
    let mut k = 0;
    while n < resources {
        let account = account(k);
        let count = PER_STATE.min(resources - n);
        let list: Vec<Value> = (n..n + count)
            .map(|i| {
                let t = &templates[i % templates.len()];
                json!({
                    "mode": "managed",
                    "type": t.tf_type,
                    "name": format!("{}_{i}", t.name),
                    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                    "instances": [{
                        "schema_version": 0,
                        "attributes": clone_of(t, i, &account),
                        "sensitive_attributes": t.sensitive_attributes,
                    }],
                })
            })
            .collect();
        let state = json!({
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": 1,
            "lineage": format!("00000000-0000-4000-8000-{k:012}"),
            "outputs": {},
            "resources": list,
            "check_results": null,
        });
        let key = format!("live/{account}/{}/component-{k:03}/terraform.tfstate", regions[k % 2]);
        out.push((key, serde_json::to_vec_pretty(&state).unwrap_or_default()));
        n += count;
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_get_their_own_ids_arns_and_account() {
        let t = Template {
            tf_type: "aws_security_group".into(),
            name: "web".into(),
            attributes: serde_json::from_value(json!({
                "id": "sg-0123456789abcdef0",
                "arn": "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0123456789abcdef0",
                "name": "web",
                "ingress": [{ "security_groups": ["sg-0123456789abcdef0"] }],
            }))
            .expect("map"),
            sensitive_attributes: json!([]),
        };
        let c = clone_of(&t, 5, &account(3));
        assert_eq!(c["id"], "sg-0123456789abcdef0-0000005");
        assert_eq!(
            c["arn"],
            "arn:aws:ec2:eu-west-1:210000000003:security-group/sg-0123456789abcdef0-0000005"
        );
        assert_eq!(c["name"], "web-0000005");
        assert_eq!(c["ingress"][0]["security_groups"][0], "sg-0123456789abcdef0-0000005");
        let files = files(&[t], 1_500);
        assert_eq!(files.len(), 3, "{PER_STATE} per file");
        let last: Value = serde_json::from_slice(&files[2].1).expect("json");
        assert_eq!(last["resources"].as_array().map(Vec::len), Some(100));
    }
}
