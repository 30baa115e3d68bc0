//! Configurations as Rust option structs. Each becomes the schema's JSON
//! (schema/gptq.fbs) with only the fields that are set, so the library fills
//! in its defaults and validates every value: a bad one comes back as its
//! Error, whose message names the field (e.g. `bits: 5 is not one of 2|3|4|8`).
//! Nothing is checked twice on this side.
use crate::json::ObjectWriter;

/// RuntimeConfig: where a context computes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuntimeOptions {
    /// "auto" (default), "cpu" or "cuda".
    pub backend: Option<String>,
    pub device: Option<i32>,
    /// CPU threads; 0 (default) for one per CPU the process may run on.
    pub threads: Option<i32>,
    /// "error", "warn" (default), "info" or "debug".
    pub log_level: Option<String>,
}

impl RuntimeOptions {
    pub fn to_json(&self) -> String {
        ObjectWriter::default()
            .string("backend", self.backend.as_deref())
            .num("device", self.device)
            .num("threads", self.threads)
            .string("log_level", self.log_level.as_deref())
            .finish()
    }
}

/// CalibrationConfig: the text a model is calibrated on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CalibrationOptions {
    pub files: Option<Vec<String>>,
    pub token_ids: Option<Vec<i32>>,
    pub nsamples: Option<i32>,
    /// 0 (default): the model's context capped at 2048.
    pub seqlen: Option<i32>,
    pub seed: Option<u64>,
}

impl CalibrationOptions {
    pub fn to_json(&self) -> String {
        let ids = self.token_ids.as_ref().map(|ids| {
            format!("[{}]", ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
        });
        ObjectWriter::default()
            .strings("files", self.files.as_deref())
            .raw("token_ids", ids)
            .num("nsamples", self.nsamples)
            .num("seqlen", self.seqlen)
            .num("seed", self.seed)
            .finish()
    }
}

/// QuantizeConfig: how GPTQ quantizes (whole models and single matrices).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuantizeOptions {
    /// 2, 3, 4 (default) or 8.
    pub bits: Option<i32>,
    /// 128 by default; -1 for one group per row.
    pub group_size: Option<i32>,
    pub desc_act: Option<bool>,
    pub sym: Option<bool>,
    pub damp_percent: Option<f64>,
    pub damp_auto_increment: Option<f64>,
    pub static_groups: Option<bool>,
    pub true_sequential: Option<bool>,
    pub block_size: Option<i32>,
    /// "gptq" (default) or "gptq_v2".
    pub checkpoint_format: Option<String>,
    pub modules_to_skip: Option<Vec<String>>,
    pub calibration: Option<CalibrationOptions>,
    /// Replace an existing output directory that libgptq wrote.
    pub overwrite: Option<bool>,
    pub compare_rtn: Option<bool>,
    /// "gptq" (default) or "rtn".
    pub method: Option<String>,
}

impl QuantizeOptions {
    pub fn to_json(&self) -> String {
        ObjectWriter::default()
            .num("bits", self.bits)
            .num("group_size", self.group_size)
            .boolean("desc_act", self.desc_act)
            .boolean("sym", self.sym)
            .float("damp_percent", self.damp_percent)
            .float("damp_auto_increment", self.damp_auto_increment)
            .boolean("static_groups", self.static_groups)
            .boolean("true_sequential", self.true_sequential)
            .num("block_size", self.block_size)
            .string("checkpoint_format", self.checkpoint_format.as_deref())
            .strings("modules_to_skip", self.modules_to_skip.as_deref())
            .raw("calibration", self.calibration.as_ref().map(|c| c.to_json()))
            .boolean("overwrite", self.overwrite)
            .boolean("compare_rtn", self.compare_rtn)
            .string("method", self.method.as_deref())
            .finish()
    }
}

/// GenerationConfig: sampling and stopping.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GenerationOptions {
    pub max_new_tokens: Option<i32>,
    /// 0: greedy.
    pub temperature: Option<f64>,
    pub top_k: Option<i32>,
    pub top_p: Option<f64>,
    pub repetition_penalty: Option<f64>,
    pub seed: Option<u64>,
    pub stop: Option<Vec<String>>,
    pub stop_at_eos: Option<bool>,
}

impl GenerationOptions {
    pub fn to_json(&self) -> String {
        ObjectWriter::default()
            .num("max_new_tokens", self.max_new_tokens)
            .float("temperature", self.temperature)
            .num("top_k", self.top_k)
            .float("top_p", self.top_p)
            .float("repetition_penalty", self.repetition_penalty)
            .num("seed", self.seed)
            .strings("stop", self.stop.as_deref())
            .boolean("stop_at_eos", self.stop_at_eos)
            .finish()
    }
}

/// EvalConfig: perplexity windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalOptions {
    pub seqlen: Option<i32>,
    /// 0 (default): every window.
    pub max_windows: Option<i32>,
}

impl EvalOptions {
    pub fn to_json(&self) -> String {
        ObjectWriter::default().num("seqlen", self.seqlen).num("max_windows", self.max_windows).finish()
    }
}
