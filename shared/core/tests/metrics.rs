//! The metric catalogue's breakdown values are the names the pipeline gives its skip reasons,
//! finding kinds and severities: a new variant without its metric cell would be counted as
//! `other`, so this fails until the catalogue lists it.

use driftguard_core::finding::FindingKind;
use driftguard_core::metrics::{FINDING_KINDS, SEVERITIES, SKIP_REASONS};
use driftguard_core::pipeline::Skip;
use driftguard_core::score::Severity;

/// Every `Skip`; the match makes a new variant a compile error here.
fn all_skips() -> Vec<Skip> {
    let all = vec![
        Skip::FailedCall,
        Skip::ReadOnly,
        Skip::NotInCatalog,
        Skip::NoResourceId,
        Skip::AwsService,
        Skip::OutsideIac,
        Skip::Ignored,
        Skip::ConfigOversized,
        Skip::OwnEvent,
        Skip::StateObject,
        Skip::AccessNotReported,
        Skip::CloudFormationOwned,
    ];
    for s in &all {
        match s {
            Skip::FailedCall
            | Skip::ReadOnly
            | Skip::NotInCatalog
            | Skip::NoResourceId
            | Skip::AwsService
            | Skip::OutsideIac
            | Skip::Ignored
            | Skip::ConfigOversized
            | Skip::OwnEvent
            | Skip::StateObject
            | Skip::AccessNotReported
            | Skip::CloudFormationOwned => {}
        }
    }
    all
}

#[test]
fn breakdown_values_are_the_pipelines_names() {
    let skips: Vec<&str> = all_skips().into_iter().map(Skip::as_str).collect();
    assert_eq!(skips, SKIP_REASONS);
    let kinds: Vec<&str> = [
        FindingKind::Drift,
        FindingKind::Unmanaged,
        FindingKind::Missing,
        FindingKind::Access,
    ]
    .into_iter()
    .map(|k| match k {
        FindingKind::Drift | FindingKind::Unmanaged | FindingKind::Missing | FindingKind::Access => k.as_str(),
    })
    .collect();
    assert_eq!(kinds, FINDING_KINDS);
    let severities: Vec<&str> = [Severity::Minor, Severity::Major, Severity::Critical]
        .into_iter()
        .map(|s| match s {
            Severity::Minor | Severity::Major | Severity::Critical => s.as_str(),
        })
        .collect();
    assert_eq!(severities, SEVERITIES);
}
