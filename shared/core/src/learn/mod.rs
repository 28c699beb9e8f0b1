//! Learning from outcomes: what people decided about findings becomes labels ([`label`]), the
//! labels measure the pipeline ([`eval`]: precision, recall, calibration) and refit the
//! likelihood's weights ([`fit`]: a regularised, bounded logistic regression over the same named
//! factors), and the history of manual changes ranks the resources most likely to drift next
//! ([`hotspot`]). [`ports`] is where labels and fitted weights are kept. Plain statistics, each
//! figure explainable; the last stage, as it reads findings and Slack decisions.

pub mod eval;
pub mod fit;
pub mod hotspot;
pub mod label;
pub mod ports;
