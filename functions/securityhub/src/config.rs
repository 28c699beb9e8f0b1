//! The function's configuration, from environment variables read once at init.

use driftguard_core::env::{invalid, Env};
use driftguard_core::securityhub::Product;

pub use driftguard_core::env::EnvError as ConfigError;

/// Configuration of the securityhub function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DRIFTGUARD_SECURITYHUB_PRODUCT_ARN`: the account's default product,
    /// `arn:<partition>:securityhub:<region>:<account>:product/<account>/default` (the template
    /// sets this account's and region's). Findings are imported under it, as this account's.
    pub product: Product,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `get` (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env::new(get);
        let arn = env.required("DRIFTGUARD_SECURITYHUB_PRODUCT_ARN")?;
        let product = Product::parse(&arn).map_err(|e| invalid("DRIFTGUARD_SECURITYHUB_PRODUCT_ARN", e))?;
        Ok(Config { product })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(arn: Option<&str>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| {
            (k == "DRIFTGUARD_SECURITYHUB_PRODUCT_ARN")
                .then(|| arn.map(str::to_owned))
                .flatten()
        })
    }

    #[test]
    fn the_product_is_required_and_checked() {
        let c = config(Some(
            "arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default",
        ))
        .expect("valid");
        assert_eq!(c.product.account, "123456789012");
        let err = config(None).expect_err("required");
        assert!(err.to_string().contains("DRIFTGUARD_SECURITYHUB_PRODUCT_ARN"), "{err}");
        let err =
            config(Some("arn:aws:securityhub:eu-west-1::product/aws/guardduty")).expect_err("not the default product");
        assert!(err.to_string().contains("DRIFTGUARD_SECURITYHUB_PRODUCT_ARN"), "{err}");
    }
}
