//! Quantizes a Hugging Face model to 4 bits with GPTQ (or loads the GPTQ
//! checkpoint already in the output folder), then streams a greedy
//! continuation of a prompt.
//!
//!   gptq-example <model_dir> <calibration.txt> <out_dir> [prompt]
//!
//! e.g. from the repository's root, with libgptq built in build/default:
//!   GPTQ_LIB_DIR=$PWD/build/default/lib LD_LIBRARY_PATH=$PWD/build/default/lib \
//!   cargo run --manifest-path examples/rust/Cargo.toml -- demo/docs-llama-tiny \
//!     demo/text/calib.txt /tmp/tiny-gptq "To create a table"
use std::io::Write;
use std::ops::ControlFlow;
use std::process::ExitCode;

use gptq::{CalibrationOptions, Context, GenerationOptions, Progress, QuantizeOptions, RuntimeOptions};

fn run(model_dir: &str, calibration: &str, out_dir: &str, prompt: &str) -> gptq::Result<()> {
    let ctx = Context::new(&RuntimeOptions::default())?;
    println!("libgptq {} on {} ({})", gptq::version(), ctx.backend()?, ctx.device_name()?);

    if std::path::Path::new(out_dir).exists() {
        println!("loading the GPTQ checkpoint in {out_dir}");
    } else {
        let options = QuantizeOptions {
            bits: Some(4),
            group_size: Some(128),
            calibration: Some(CalibrationOptions {
                files: Some(vec![calibration.to_string()]),
                nsamples: Some(16),
                seqlen: Some(128),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut last_percent = u64::MAX;
        let mut progress = |p: &Progress| {
            let percent = if p.total > 0 { p.done * 100 / p.total } else { 0 };
            if p.stage == "quantize" && percent / 25 != last_percent / 25 {
                last_percent = percent;
                println!("quantizing: {percent}%");
            }
            ControlFlow::Continue(())
        };
        ctx.quantize_model(model_dir, &options, out_dir, Some(&mut progress))?;
        println!("wrote {out_dir}");
    }

    let model = ctx.open_model(out_dir)?;
    let greedy = GenerationOptions { temperature: Some(0.0), max_new_tokens: Some(24), ..Default::default() };
    let mut session = ctx.create_session(&model, &greedy)?;
    print!("{prompt}");
    session.generate(prompt, |piece, _id| {
        print!("{piece}");
        let _ = std::io::stdout().flush();
        ControlFlow::Continue(())
    })?;
    println!();
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 || args.len() > 5 {
        eprintln!("usage: {} <model_dir> <calibration.txt> <out_dir> [prompt]", args[0]);
        return ExitCode::from(2);
    }
    let prompt = args.get(4).map(String::as_str).unwrap_or("To create a table in PostgreSQL, use the");
    match run(&args[1], &args[2], &args[3], prompt) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
