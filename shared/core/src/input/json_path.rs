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

/// The string (or number, rendered as text) at `path` inside `raw`, if there is one.
pub fn lookup_str<'a>(raw: &'a RawValue, path: &str) -> Option<Cow<'a, str>> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    };
    let mut found = None;
    // The walk stops at the value (an error unwinds it: the rest of the document is never
    // read); `raw` is JSON that has been parsed once already, so nothing after it can be wrong.
    let _ = Walk {
        segments: &segments,
        found: &mut found,
    }
    .deserialize(&mut de);
    found
}

/// What [`Walk`] raises to stop the scan once it has the value.
const FOUND: &str = "found";

/// Every string (or number, as text) at `path` inside `raw`, where a `*` segment stands for
/// each element of a list (`instancesSet.items.*.instanceId`), in document order; one scan.
pub fn lookup_all_str<'a>(raw: &'a RawValue, path: &str) -> Vec<Cow<'a, str>> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let segments: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let mut out = Vec::new();
    let _ = WalkAll {
        segments: &segments,
        out: &mut out,
    }
    .deserialize(&mut de);
    out
}

/// The visitor methods for scalars met where the path goes on: nothing there.
macro_rules! scalars_end_the_path {
    () => {
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
    };
}

/// [`Walk`] with `*` segments, collecting every match.
struct WalkAll<'p, 'o, 'de> {
    segments: &'p [&'p str],
    out: &'o mut Vec<Cow<'de, str>>,
}

impl<'de> DeserializeSeed<'de> for WalkAll<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.segments.is_empty() {
            // A leaf: the scalar `Scalar` reads.
            if let Some(v) = d.deserialize_any(Scalar)? {
                self.out.push(v);
            }
            Ok(())
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for WalkAll<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&"", &[]));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if !first.is_empty() && key == *first {
                map.next_value_seed(WalkAll {
                    segments: rest,
                    out: &mut *self.out,
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
                seq.next_element_seed(WalkAll {
                    segments: rest,
                    out: &mut *self.out,
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

    scalars_end_the_path!();
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

/// The walk of [`lookup_str`]: follows `segments`, puts the scalar at their end in `found` and
/// stops the scan there.
struct Walk<'p, 'o, 'de> {
    segments: &'p [&'p str],
    found: &'o mut Option<Cow<'de, str>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        match self.segments.split_first() {
            None => match d.deserialize_any(Scalar)? {
                Some(v) => {
                    *self.found = Some(v);
                    Err(de::Error::custom(FOUND))
                }
                None => Ok(()),
            },
            Some(_) => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_end_the_path!();

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&"", &[]));
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == *first {
                map.next_value_seed(Walk {
                    segments: rest,
                    found: &mut *self.found,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&"", &[]));
        let wanted = first.parse::<usize>().ok();
        let mut index = 0;
        loop {
            let more = if wanted == Some(index) {
                seq.next_element_seed(Walk {
                    segments: rest,
                    found: &mut *self.found,
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
    fn escaped_strings_are_unescaped() {
        let r = raw(r#"{"k":"a\"b"}"#);
        assert_eq!(lookup_str(&r, "k").as_deref(), Some("a\"b"));
    }
}
