//! Reading a localizer's JSON construction parameters with helpful errors, shared by the
//! registry, the candle localizers and the plugin hosts.

use crate::LocalizerError;
use serde_json::{Map as JsonMap, Value};

/// The parameters given to one localizer, checked against the names it accepts.
pub struct Params<'a> {
    localizer: &'a str,
    given: &'a JsonMap<String, Value>,
}

impl<'a> Params<'a> {
    /// Rejects any parameter not in `allowed` (with a "did you mean" and the allowed list).
    pub fn new(
        localizer: &'a str,
        given: &'a JsonMap<String, Value>,
        allowed: &[&str],
    ) -> Result<Self, LocalizerError> {
        // Sorted so the first unknown key reported does not depend on map order.
        let mut keys: Vec<&String> = given.keys().collect();
        keys.sort();
        if let Some(unknown) = keys.into_iter().find(|k| !allowed.contains(&k.as_str())) {
            let allowed_list = if allowed.is_empty() {
                "none (this localizer takes no parameters)".to_string()
            } else {
                allowed.join(", ")
            };
            return Err(LocalizerError::BadParameter {
                localizer: localizer.to_string(),
                param: unknown.clone(),
                message: format!(
                    "unknown parameter{}; allowed: {allowed_list}",
                    suggestion(unknown, allowed.iter().copied())
                ),
            });
        }
        Ok(Self { localizer, given })
    }

    /// All given parameters (already checked against the allowed names).
    pub fn given(&self) -> &'a JsonMap<String, Value> {
        self.given
    }

    /// The number under `name`, or `default` when absent; errors if it is not a finite number.
    pub fn f64_or(&self, name: &str, default: f64) -> Result<f64, LocalizerError> {
        match self.given.get(name) {
            None => Ok(default),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() => Ok(v),
                _ => Err(self.bad(name, format!("expected a finite number, got {n}"))),
            },
            Some(other) => Err(self.bad(name, format!("expected a number, got {other}"))),
        }
    }

    /// The non-negative integer under `name`, or `default` when absent.
    pub fn usize_or(&self, name: &str, default: usize) -> Result<usize, LocalizerError> {
        match self.given.get(name) {
            None => Ok(default),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| self.bad(name, format!("expected a non-negative integer, got {n}"))),
            Some(other) => Err(self.bad(name, format!("expected an integer, got {other}"))),
        }
    }

    /// The raw JSON value under `name`, for readers of non-numeric parameters (plugin hosts).
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.given.get(name)
    }

    /// A [`LocalizerError::BadParameter`] for `name` of this localizer.
    pub fn bad(&self, name: &str, message: String) -> LocalizerError {
        LocalizerError::BadParameter {
            localizer: self.localizer.to_string(),
            param: name.to_string(),
            message,
        }
    }
}

/// `"; did you mean 'x'?"` for the closest candidate ([`suggest::closest`]), or `""` when
/// nothing is close.
pub fn suggestion<'c>(given: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    suggest::closest(given, candidates)
        .map(|c| format!("; did you mean '{c}'?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            suggestion("oracel", ["oracle", "constant"]),
            "; did you mean 'oracle'?"
        );
        assert_eq!(
            suggestion("Constnt", ["oracle", "constant"]),
            "; did you mean 'constant'?"
        );
        assert_eq!(suggestion("xyz", ["oracle", "constant"]), "");
    }

    #[test]
    fn reads_numbers_and_rejects_other_types() {
        let given: JsonMap<String, Value> =
            serde_json::from_str(r#"{"a": 0.25, "b": 7, "c": "x", "d": -3}"#).unwrap();
        let p = Params::new("t", &given, &["a", "b", "c", "d"]).unwrap();
        assert_eq!(p.f64_or("a", 1.0).unwrap(), 0.25);
        assert_eq!(p.f64_or("missing", 1.0).unwrap(), 1.0);
        assert_eq!(p.usize_or("b", 0).unwrap(), 7);
        assert!(p
            .f64_or("c", 0.0)
            .unwrap_err()
            .to_string()
            .contains("expected a number, got \"x\""));
        assert!(p
            .usize_or("d", 0)
            .unwrap_err()
            .to_string()
            .contains("non-negative integer"));
        assert!(p
            .usize_or("a", 0)
            .unwrap_err()
            .to_string()
            .contains("non-negative integer"));
    }
}
