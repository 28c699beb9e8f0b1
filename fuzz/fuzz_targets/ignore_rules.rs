//! `.driftignore` files (the CLI's `--ignore-file`, the functions' `DRIFTGUARD_IGNORE_RULES`):
//! parsed, then matched against a subject. The input's first line is the subject
//! (`<type> <id> [<attribute>]`), the rest the rules.
#![no_main]

use driftguard_core::ignore::{glob, IgnoreRules, Subject};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [subject, rules] = driftguard_fuzz::split::<2>(data);
    let (Ok(subject), Ok(rules)) = (std::str::from_utf8(subject), std::str::from_utf8(rules)) else {
        return;
    };
    let rules = match IgnoreRules::with_file(".driftignore", rules) {
        Ok(rules) => rules,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with(".driftignore:"),
                "an error names its line: {message}"
            );
            return;
        }
    };
    let mut fields = subject.split_whitespace();
    let (resource_type, id) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""));
    let attribute = fields.next();
    let subject = Subject {
        resource_type,
        tf_type: Some(resource_type),
        id,
        arn: Some(id),
        address: attribute,
    };
    // (A whole-resource rule need not ignore every attribute: a later `!` rule may take one back.)
    let _ = rules.resource(&subject);
    if let Some(attribute) = attribute {
        let _ = rules.attribute(&subject, attribute);
    }
    // `*` matches anything; a text matches itself when it holds no `*`.
    assert!(glob("*", id));
    assert!(id.contains('*') || glob(id, id));
});
