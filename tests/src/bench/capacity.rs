//! DynamoDB request units from the requests a function made and the answers it got (the fault
//! proxy's captured exchanges), by DynamoDB's published rules, since moto's `ConsumedCapacity`
//! is a constant:
//!
//! - An item's size is the sum of its attribute names' and values' sizes: a string's UTF-8
//!   bytes, a number's (significant digits ÷ 2, rounded up) + 1 bytes, a binary's raw bytes,
//!   1 byte for a boolean or null, 3 bytes plus 1 byte per element for a list or map.
//! - On demand, a write costs one write request unit per KB of the larger of the item before
//!   and after (a delete: the item before), at least one; twice that inside
//!   `TransactWriteItems`. A write whose condition failed still costs the units of the item it
//!   would have written.
//! - A global secondary index that projects everything costs a write of the new item's size
//!   when the item gains or keeps its index key, a delete (the old item's size) when it loses
//!   it, and both when the key changes.
//! - A strongly consistent read costs one read request unit per 4 KB read (a `GetItem`, or the
//!   sum of a `Query`'s items), at least one; eventually consistent, half.
//!
//! The items' sizes before a write are tracked from the writes seen (the table starts empty).

use crate::fault::Exchange;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The table's global secondary indexes: (name, partition key, sort key).
pub const INDEXES: [(&str, &str, &str); 2] = [("gsi1", "gsi1pk", "gsi1sk"), ("gsi2", "gsi2pk", "gsi2sk")];

/// Request units of one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OperationUnits {
    /// Requests the service answered.
    pub requests: usize,
    /// Read request units.
    pub read: f64,
    /// Write request units on the table.
    pub write: f64,
    /// Write request units on the indexes.
    pub index_write: f64,
}

/// What a run's DynamoDB requests cost, by operation.
#[derive(Debug, Clone, Default)]
pub struct Units {
    /// By operation (`GetItem`, `TransactWriteItems`, ...).
    pub by_operation: BTreeMap<String, OperationUnits>,
}

impl Units {
    /// Read request units in all.
    pub fn read(&self) -> f64 {
        self.by_operation.values().map(|o| o.read).sum()
    }

    /// Write request units in all, table and indexes.
    pub fn write(&self) -> f64 {
        self.by_operation.values().map(|o| o.write + o.index_write).sum()
    }
}

/// Tracks item sizes across exchanges and prices each.
#[derive(Debug, Default)]
pub struct Meter {
    items: HashMap<(String, String), Item>,
    units: Units,
}

/// What is known of a stored item: its size and its index keys.
#[derive(Debug, Clone)]
struct Item {
    size: usize,
    index_keys: Vec<Option<(String, String)>>,
}

impl Meter {
    /// A meter on an empty table.
    pub fn new() -> Meter {
        Meter::default()
    }

    /// Takes the exchanges in the order the service answered them; `priced` says whether each
    /// one's units count (a warm-up's writes are tracked but not priced).
    pub fn take(&mut self, exchange: &Exchange, priced: bool) {
        let request: Value = serde_json::from_slice(&exchange.request).unwrap_or(Value::Null);
        let response: Value = serde_json::from_slice(&exchange.response).unwrap_or(Value::Null);
        let ok = exchange.status == 200;
        let condition_failed = !ok
            && response["__type"]
                .as_str()
                .is_some_and(|t| t.ends_with("ConditionalCheckFailedException"));
        let consistent = request["ConsistentRead"].as_bool().unwrap_or(false);
        let mut units = OperationUnits {
            requests: 1,
            ..OperationUnits::default()
        };
        match exchange.operation.as_str() {
            "GetItem" => {
                let size = response.get("Item").map_or(0, item_size);
                units.read = read_units(size, consistent);
            }
            "Query" | "Scan" => {
                let size: usize = response["Items"]
                    .as_array()
                    .map_or(0, |items| items.iter().map(item_size).sum());
                units.read = read_units(size, consistent);
            }
            "BatchGetItem" => {
                if let Some(tables) = response["Responses"].as_object() {
                    for items in tables.values() {
                        for item in items.as_array().into_iter().flatten() {
                            units.read += read_units(item_size(item), consistent);
                        }
                    }
                }
            }
            "PutItem" if ok || condition_failed => {
                let (write, index) = self.put(&request["Item"], ok, 1.0);
                (units.write, units.index_write) = (write, index);
            }
            "DeleteItem" if ok || condition_failed => {
                let (write, index) = self.delete(&request["Key"], ok);
                (units.write, units.index_write) = (write, index);
            }
            "UpdateItem" if ok || condition_failed => {
                // The new item is not in the request: priced at the size known before (an
                // update that grows an item is under-counted by this).
                let key = key_of(&request["Key"]);
                let before = self.items.get(&key).map_or(0, |i| i.size);
                units.write = write_units(before, 1.0);
            }
            "TransactWriteItems" if ok => {
                for entry in request["TransactItems"].as_array().into_iter().flatten() {
                    let (write, index) = if entry["Put"].is_object() {
                        self.put(&entry["Put"]["Item"], true, 2.0)
                    } else if entry["Delete"].is_object() {
                        let (w, i) = self.delete(&entry["Delete"]["Key"], true);
                        (w * 2.0, i)
                    } else {
                        // ConditionCheck and Update: one unit each, doubled.
                        (2.0, 0.0)
                    };
                    units.write += write;
                    units.index_write += index;
                }
            }
            "BatchWriteItem" if ok => {
                if let Some(tables) = request["RequestItems"].as_object() {
                    for writes in tables.values() {
                        for w in writes.as_array().into_iter().flatten() {
                            let (write, index) = if w["PutRequest"].is_object() {
                                self.put(&w["PutRequest"]["Item"], true, 1.0)
                            } else {
                                self.delete(&w["DeleteRequest"]["Key"], true)
                            };
                            units.write += write;
                            units.index_write += index;
                        }
                    }
                }
            }
            _ => {}
        }
        if !priced {
            return;
        }
        let entry = self.units.by_operation.entry(exchange.operation.clone()).or_default();
        entry.requests += units.requests;
        entry.read += units.read;
        entry.write += units.write;
        entry.index_write += units.index_write;
    }

    /// The units priced so far.
    pub fn units(&self) -> &Units {
        &self.units
    }

    /// A put of `item` (applied when `applied`): (table units × `factor`, index units).
    fn put(&mut self, item: &Value, applied: bool, factor: f64) -> (f64, f64) {
        let key = key_of(item);
        let new = Item {
            size: item_size(item),
            index_keys: INDEXES
                .iter()
                .map(|(_, pk, sk)| match (item[pk]["S"].as_str(), item[sk]["S"].as_str()) {
                    (Some(p), Some(s)) => Some((p.to_owned(), s.to_owned())),
                    _ => None,
                })
                .collect(),
        };
        let old = self.items.get(&key).cloned();
        let table = write_units(new.size.max(old.as_ref().map_or(0, |o| o.size)), factor);
        if !applied {
            return (table, 0.0);
        }
        let mut index = 0.0;
        for (n, new_key) in new.index_keys.iter().enumerate() {
            let old_key = old.as_ref().and_then(|o| o.index_keys[n].as_ref());
            let old_size = old.as_ref().map_or(0, |o| o.size);
            index += match (old_key, new_key) {
                (None, None) => 0.0,
                (None, Some(_)) => write_units(new.size, 1.0),
                (Some(_), None) => write_units(old_size, 1.0),
                (Some(a), Some(b)) if a == b => write_units(new.size.max(old_size), 1.0),
                (Some(_), Some(_)) => write_units(old_size, 1.0) + write_units(new.size, 1.0),
            };
        }
        self.items.insert(key, new);
        (table, index)
    }

    /// A delete of the item at `key` (applied when `applied`): (table units, index units).
    fn delete(&mut self, key: &Value, applied: bool) -> (f64, f64) {
        let key = key_of(key);
        let Some(old) = self.items.get(&key).cloned() else {
            return (1.0, 0.0);
        };
        let index = old
            .index_keys
            .iter()
            .filter(|k| k.is_some())
            .map(|_| write_units(old.size, 1.0))
            .sum();
        if applied {
            self.items.remove(&key);
        }
        (write_units(old.size, 1.0), if applied { index } else { 0.0 })
    }
}

fn key_of(item: &Value) -> (String, String) {
    (
        item["pk"]["S"].as_str().unwrap_or("").to_owned(),
        item["sk"]["S"].as_str().unwrap_or("").to_owned(),
    )
}

fn write_units(size: usize, factor: f64) -> f64 {
    size.div_ceil(1024).max(1) as f64 * factor
}

fn read_units(size: usize, consistent: bool) -> f64 {
    let units = size.div_ceil(4096).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// An item's size (its attributes in DynamoDB's JSON: `{"name": {"S": "..."}}`).
pub fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |attrs| {
        attrs.iter().map(|(name, v)| name.len() + value_size(v)).sum()
    })
}

fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(1, number_size),
        "B" => inner.as_str().map_or(0, |b| b.len() / 4 * 3),
        "BOOL" | "NULL" => 1,
        "SS" => inner
            .as_array()
            .map_or(0, |a| a.iter().filter_map(Value::as_str).map(str::len).sum()),
        "NS" => inner
            .as_array()
            .map_or(0, |a| a.iter().filter_map(Value::as_str).map(number_size).sum()),
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |a| a.iter().map(|e| value_size(e) + 1).sum())
        }
        "M" => {
            3 + inner
                .as_object()
                .map_or(0, |m| m.iter().map(|(k, e)| k.len() + value_size(e) + 1).sum())
        }
        _ => 0,
    }
}

/// A number's size: one byte per two significant digits, plus one.
fn number_size(n: &str) -> usize {
    let digits: String = n.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len().max(1);
    significant.div_ceil(2) + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn exchange(operation: &str, request: Value, status: u16, response: Value) -> Exchange {
        Exchange {
            operation: operation.to_owned(),
            request: request.to_string().into_bytes(),
            status,
            response: response.to_string().into_bytes(),
            delivered: true,
        }
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        // "pk" 2 + "FINDING#a" 9, "n" 1 + 12345 (5 digits: 3 + 1), "b" 1 + 1.
        let item = json!({"pk": {"S": "FINDING#a"}, "n": {"N": "12345"}, "b": {"BOOL": true}});
        assert_eq!(item_size(&item), 2 + 9 + 1 + 4 + 1 + 1);
        assert_eq!(number_size("1000"), 2, "trailing zeroes are trimmed");
        let nested = json!({"m": {"M": {"k": {"S": "v"}}}});
        assert_eq!(item_size(&nested), 1 + 3 + (1 + 1 + 1));
    }

    #[test]
    fn writes_are_priced_by_the_larger_item_doubled_in_transactions_and_per_index() {
        let mut meter = Meter::new();
        let doc = "x".repeat(1500);
        let finding = json!({"pk": {"S": "FINDING#a"}, "sk": {"S": "FINDING"}, "doc": {"S": doc},
            "gsi1pk": {"S": "OPEN#major"}, "gsi1sk": {"S": "1"}, "gsi2pk": {"S": "RES#r"}, "gsi2sk": {"S": "1"}});
        let outbox = json!({"pk": {"S": "OUTBOX#x"}, "sk": {"S": "k"}, "doc": {"S": "y"}});
        meter.take(
            &exchange(
                "TransactWriteItems",
                json!({"TransactItems": [{"Put": {"Item": finding}}, {"Put": {"Item": outbox}}]}),
                200,
                json!({}),
            ),
            true,
        );
        let t = meter.units().by_operation["TransactWriteItems"];
        // The finding is 2 KB (×2 in a transaction), the outbox row 1 KB (×2); each index 2 KB.
        assert_eq!((t.write, t.index_write), (6.0, 4.0));

        // Resolving: gsi1's key goes away (a delete), gsi2's stays (a write).
        let mut resolved = finding.clone();
        resolved
            .as_object_mut()
            .map(|o| (o.remove("gsi1pk"), o.remove("gsi1sk")));
        meter.take(&exchange("PutItem", json!({"Item": resolved}), 200, json!({})), true);
        let p = meter.units().by_operation["PutItem"];
        assert_eq!((p.write, p.index_write), (2.0, 4.0));

        meter.take(
            &exchange(
                "DeleteItem",
                json!({"Key": {"pk": {"S": "OUTBOX#x"}, "sk": {"S": "k"}}}),
                200,
                json!({}),
            ),
            true,
        );
        meter.take(
            &exchange(
                "GetItem",
                json!({"ConsistentRead": true}),
                200,
                json!({"Item": {"pk": {"S": "FINDING#a"}, "doc": {"S": "z".repeat(5000)}}}),
            ),
            true,
        );
        meter.take(
            &exchange("GetItem", json!({"ConsistentRead": true}), 200, json!({})),
            false,
        );
        let units = meter.units();
        assert_eq!(units.by_operation["DeleteItem"].write, 1.0);
        assert_eq!(units.by_operation["GetItem"].read, 2.0, "5 KB read strongly: two units");
        assert_eq!(
            units.by_operation["GetItem"].requests, 1,
            "the unpriced read is not counted"
        );
        assert_eq!(units.write(), 6.0 + 4.0 + 2.0 + 4.0 + 1.0);
    }
}
