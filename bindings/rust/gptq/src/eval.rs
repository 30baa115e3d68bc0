//! gptq_evaluate's EvalReport.
use crate::error::{Error, Result, Status};
use crate::json::{self, Value};

/// The EvalReport of schema/gptq.fbs: perplexity with the GPTQ paper's
/// protocol, and what it was measured on.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalReport {
    pub ppl: f64,
    /// Mean negative log-likelihood per scored token; ppl = exp(nll).
    pub nll: f64,
    pub windows: u64,
    /// Tokens scored: windows * (seqlen - 1).
    pub tokens: u64,
    /// Tokens of the whole text.
    pub text_tokens: u64,
    pub seqlen: u64,
    pub max_windows: u64,
    pub window_nll: Vec<f64>,
    pub seconds: f64,
    pub backend: String,
    /// The report as the library wrote it.
    pub json: String,
}

impl EvalReport {
    pub(crate) fn from_json(text: String) -> Result<EvalReport> {
        let bad = |what: &str| Error { status: Status::Internal, message: format!("EvalReport: {what} in {text}") };
        let v = json::parse(&text).map_err(|e| bad(&e))?;
        let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).ok_or_else(|| bad(&format!("no number \"{k}\"")));
        let count = |v: &Value, k: &str| num(v, k).map(|n| n as u64);
        let config = v.get("config").ok_or_else(|| bad("no \"config\""))?;
        let window_nll = v
            .get("window_nll")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"window_nll\""))?
            .iter()
            .map(|w| w.as_f64().ok_or_else(|| bad("a window_nll that is not a number")))
            .collect::<Result<Vec<f64>>>()?;
        Ok(EvalReport {
            ppl: num(&v, "ppl")?,
            nll: num(&v, "nll")?,
            windows: count(&v, "windows")?,
            tokens: count(&v, "tokens")?,
            text_tokens: count(&v, "text_tokens")?,
            seqlen: count(config, "seqlen")?,
            max_windows: count(config, "max_windows")?,
            window_nll,
            seconds: num(&v, "seconds")?,
            backend: v.get("backend").and_then(Value::as_str).unwrap_or("").to_string(),
            json: text.clone(),
        })
    }
}
