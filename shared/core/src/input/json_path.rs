//! Reads one value (or, with a `*` segment, every list element's) out of raw JSON by a dot path
//! (`ipPermissions.items.0.fromPort`) without building a `serde_json::Value`: the walk skips
//! everything off the path.
//!
//! This keeps resource-id extraction on the hot path at the cost of one scan of the
//! sub-document, with no allocation when the string has no escapes.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The string (or number, rendered as text) at `path` inside `raw`, if there is one: the first
/// in document order where a `*` segment stands for each element of a list.
pub fn lookup_str<'a>(raw: &'a RawValue, path: &str) -> Option<Cow<'a, str>> {
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    let mut found = None;
    walk(raw, &segments, &mut Sink::First(&mut found));
    found
}

/// Every string (or number, as text) at `path` inside `raw`, where a `*` segment stands for
/// each element of a list (`instancesSet.items.*.instanceId`), in document order; one scan.
pub fn lookup_all_str<'a>(raw: &'a RawValue, path: &str) -> Vec<Cow<'a, str>> {
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    walk(raw, &segments, &mut Sink::All(&mut out));
    out
}

fn walk<'a>(raw: &'a RawValue, segments: &[&str], sink: &mut Sink<'_, 'a>) {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    // A sink that has what it wants stops the walk with an error (the rest of the document is
    // never read); `raw` was parsed once already, so no other error can happen.
    let _ = Walk { segments, sink }.deserialize(&mut de);
}

/// Where a walk puts the scalars at the end of its path.
enum Sink<'o, 'de> {
    /// The first one, and the walk stops there.
    First(&'o mut Option<Cow<'de, str>>),
    /// Every one.
    All(&'o mut Vec<Cow<'de, str>>),
}

/// What a walk raises to stop once its sink has what it wants.
const FOUND: &str = "found";

/// Follows `segments` (`*` for every element of a list, a number for one) to the scalars at
/// their end.
struct Walk<'p, 's, 'o, 'de> {
    segments: &'p [&'p str],
    sink: &'s mut Sink<'o, 'de>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if !self.segments.is_empty() {
            return d.deserialize_any(self);
        }
        match (d.deserialize_any(Scalar)?, self.sink) {
            (None, _) => Ok(()),
            (Some(v), Sink::All(out)) => {
                out.push(v);
                Ok(())
            }
            (Some(v), Sink::First(found)) => {
                **found = Some(v);
                Err(de::Error::custom(FOUND))
            }
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&"", &[]));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !first.is_empty() && key == *first {
                map.next_value_seed(Walk {
                    segments: rest,
                    sink: &mut *self.sink,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&"", &[]));
        let every = *first == "*";
        let wanted = first.parse::<usize>().ok();
        let mut index = 0;
        loop {
            let more = if every || wanted == Some(index) {
                seq.next_element_seed(Walk {
                    segments: rest,
                    sink: &mut *self.sink,
                })?
                .is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                break;
            }
            index += 1;
        }
        Ok(())
    }

    // Scalars where the path goes on: nothing there.
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A scalar as text: a string as it is, a number or boolean rendered; `None` for anything else.
struct Scalar;

impl<'de> Visitor<'de> for Scalar {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::lookup_str;
    use serde_json::value::RawValue;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).expect("valid JSON")
    }

    #[test]
    fn finds_nested_strings_numbers_and_array_elements() {
        let r =
            raw(r#"{"groupId":"sg-1","ipPermissions":{"items":[{"fromPort":22},{"fromPort":443,"x":[1,{"y":"z"}]}]}}"#);
        assert_eq!(lookup_str(&r, "groupId").as_deref(), Some("sg-1"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.1.fromPort").as_deref(), Some("443"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.0.fromPort").as_deref(), Some("22"));
        assert_eq!(lookup_str(&r, "ipPermissions.items.1.x.1.y").as_deref(), Some("z"));
    }

    #[test]
    fn misses_return_none() {
        let r = raw(r#"{"a":{"b":"c"},"n":null,"arr":[]}"#);
        assert_eq!(lookup_str(&r, "a.x"), None);
        assert_eq!(lookup_str(&r, "a"), None, "an object is not a string");
        assert_eq!(lookup_str(&r, "n"), None);
        assert_eq!(lookup_str(&r, "arr.0"), None);
        assert_eq!(lookup_str(&r, "a.b.c"), None);
    }

    #[test]
    fn a_star_collects_every_element_in_one_scan() {
        let r = raw(r#"{"set":{"items":[{"id":"i-1"},{"other":"x"},{"id":"i-3","id2":"no"}]},"id":"top"}"#);
        let all = super::lookup_all_str(&r, "set.items.*.id");
        assert_eq!(all, ["i-1", "i-3"]);
        assert_eq!(super::lookup_all_str(&r, "set.items.2.id"), ["i-3"]);
        assert!(super::lookup_all_str(&r, "set.none.*.id").is_empty());
        let list = raw(r#"{"instanceIds":["i-a","i-b"]}"#);
        assert_eq!(super::lookup_all_str(&list, "instanceIds.*"), ["i-a", "i-b"]);
    }

    #[test]
    fn a_key_spelled_with_escapes_is_still_found() {
        let r = raw(r#"{"gr\u006fupId":"sg-1","items":[{"instance\u0049d":"i-1"}]}"#);
        assert_eq!(lookup_str(&r, "groupId").as_deref(), Some("sg-1"));
        assert_eq!(super::lookup_all_str(&r, "items.*.instanceId"), ["i-1"]);
    }

    #[test]
    fn the_first_of_repeated_keys_wins_and_a_later_one_is_tried_when_the_first_has_none() {
        let r = raw(r#"{"a":"first","a":"second","b":{"x":1},"b":{"y":"found"}}"#);
        assert_eq!(lookup_str(&r, "a").as_deref(), Some("first"));
        assert_eq!(lookup_str(&r, "b.y").as_deref(), Some("found"));
    }

    #[test]
    fn a_star_in_a_single_lookup_gives_the_first_match() {
        let r = raw(r#"{"items":[{"other":1},{"id":"i-2"},{"id":"i-3"}]}"#);
        assert_eq!(lookup_str(&r, "items.*.id").as_deref(), Some("i-2"));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let r = raw(r#"{"k":"a\"b"}"#);
        assert_eq!(lookup_str(&r, "k").as_deref(), Some("a\"b"));
    }
}
