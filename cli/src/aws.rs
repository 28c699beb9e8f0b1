//! What the commands that reach AWS share: the environment's credentials, region and endpoint
//! (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, ...) with a command's `--region`,
//! `--profile` and `--endpoint-url` on top, and a runtime to drive the SDK from sync code.

use anyhow::{Context, Result};

/// A command's AWS flags; `None` leaves the environment's setting.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AwsFlags<'a> {
    pub(crate) region: Option<&'a str>,
    pub(crate) profile: Option<&'a str>,
    pub(crate) endpoint_url: Option<&'a str>,
}

/// The SDK configuration for `flags`.
pub(crate) async fn sdk(flags: AwsFlags<'_>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = flags.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = flags.region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(profile) = flags.profile {
        loader = loader.profile_name(profile);
    }
    loader.load().await
}

/// A single-threaded runtime for one command's calls.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
