//! A Slack button click as the slack-actions function reads it: the body (base64 when the
//! function URL says so), `payload=<url-encoded JSON>`, the click, the decisions and approval it
//! makes, the origin check.
#![no_main]

use driftguard_core::interaction::{self, Decision, Origin};
use driftguard_core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

fn click(body: &[u8]) {
    let Ok(click) = interaction::parse_click(body) else {
        return;
    };
    assert!(!click.finding_ids.is_empty() && click.finding_ids.iter().all(|id| !id.is_empty() && id.len() <= 64));
    let at = Timestamp(1_795_165_337_000);
    let decisions = Decision::from_click(&click, at);
    assert_eq!(decisions.len(), click.finding_ids.len(), "one decision per finding");
    for d in &decisions {
        let _ = (d.key(), d.sentence(), d.remediation_request());
    }
    let _ = interaction::approval_of(&click, at);
    let origin = Origin {
        team_id: "T0123ABCD".into(),
        api_app_id: "A0123ABCD".into(),
    };
    if let Err(refused) = origin.check(&click) {
        let _ = (refused.reason(), refused.user_text());
    }
    let _ = interaction::check_target(&click, &click.finding_ids[0], None, None, &decisions);
}

fuzz_target!(|data: &[u8]| {
    click(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(body) = interaction::base64_decode(text) {
            click(&body);
        }
    }
});
