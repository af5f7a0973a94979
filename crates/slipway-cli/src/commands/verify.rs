//! `slipway verify`: every check of an artifact and its evidence, pass or fail with a reason;
//! exit 1 when any fails.

use crate::Outcome;
use crate::cli::VerifyArgs;
use crate::commands::history::{runtime, state};
use slipway_evidence::verify::Check;

pub fn run(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let dir = state(&args.state.state_dir)?;
    let (policy, policy_name) = match &args.policy {
        Some(path) => (
            slipway_sign::TrustPolicy::load(path)?,
            path.display().to_string(),
        ),
        None => (
            slipway_evidence::keys::local_trust(&dir)?,
            "this machine's keys (no --policy given)".to_owned(),
        ),
    };
    let mut report = runtime()?.block_on(async {
        let artifacts = slipway_artifact::Artifacts::open_in(&dir).await?;
        slipway_evidence::verify(&artifacts, &args.artifact, &policy).await
    })?;
    if args.rebuild {
        let check = super::rebuild::rebuild(&dir, &report.digest, &policy)?;
        report.ok &= check.ok;
        report.checks.push(check);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("verifying {} against {policy_name}", report.digest);
        for Check { name, ok, detail } in &report.checks {
            println!("  {} {name}: {detail}", if *ok { "✓" } else { "✗" });
        }
        let failed = report.checks.iter().filter(|c| !c.ok).count();
        if report.ok {
            println!("verified: {} checks passed", report.checks.len());
        } else {
            println!(
                "NOT verified: {failed} of {} checks failed",
                report.checks.len()
            );
        }
    }
    Ok(if report.ok {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
