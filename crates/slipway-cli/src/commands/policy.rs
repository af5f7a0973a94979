//! `slipway policy eval|test|rules|schema`: explain a policy decision over an input document,
//! run the policy tests, list the rules, print the input's JSON Schema.

use crate::Outcome;
use anyhow::Context;
use clap::{Args, Subcommand};
use slipway_policy::{
    Decision, DecisionPoint, Input, Overrides, PolicySet, Reason, TestOutcome, evaluate, run_tests,
};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Evaluate the policies over an input document and explain the decision: allow or deny,
    /// every reason with its rule id and remediation, the bundle and input digests. Exit 1
    /// when the decision denies.
    Eval(PolicyEvalArgs),
    /// Run every `test_*` rule of the built-in pack and of DIR (default .slipway/policies);
    /// exit 1 when any fails.
    Test(PolicyTestArgs),
    /// List the rules of the policy set: id, name, decision points, source.
    Rules(PolicyRulesArgs),
    /// Print the JSON Schema of the input document.
    Schema,
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["input", "artifact"])))]
pub struct PolicyEvalArgs {
    /// The input document (JSON; docs/policy.md describes it).
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Decide a promotion of this artifact (digest, unique prefix or tag) to `--env` as
    /// `slipway promote` would now, from its evidence and the environment's state; nothing is
    /// recorded.
    #[arg(
        long,
        value_name = "DIGEST",
        requires = "env",
        conflicts_with = "input"
    )]
    pub artifact: Option<String>,
    /// The environment of `--artifact`.
    #[arg(long, value_name = "ENV", requires = "artifact")]
    pub env: Option<String>,
    /// The decision point (default: the input's `decision`; `promote` for `--artifact`).
    #[arg(
        long,
        value_name = "release|promote|rollback",
        conflicts_with = "artifact"
    )]
    pub point: Option<DecisionPoint>,
    /// Print the input document too (`--json`: `{"input": ..., "decision": ...}`).
    #[arg(long)]
    pub show_input: bool,
    /// The pipeline file, state directory and trust policy of `--artifact`.
    #[command(flatten)]
    pub delivery: crate::commands::deliver::Common,
    #[command(flatten)]
    pub repo: RepoArg,
}

#[derive(Args)]
pub struct PolicyTestArgs {
    /// The directory of the repository's policy tests (default: .slipway/policies).
    pub dir: Option<PathBuf>,
    /// Print `{"tests": [...], "passed", "failed"}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArg,
}

#[derive(Args)]
pub struct PolicyRulesArgs {
    /// Print the rules as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub repo: RepoArg,
}

#[derive(Args)]
pub struct RepoArg {
    /// The repository whose `.slipway/policies` and `.slipway/policy.yml` apply (default: the
    /// git work tree of the current directory, else the current directory).
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,
}

pub fn run(command: &PolicyCommand) -> anyhow::Result<Outcome> {
    match command {
        PolicyCommand::Eval(args) => eval(args),
        PolicyCommand::Test(args) => test(args),
        PolicyCommand::Rules(args) => rules(args),
        PolicyCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&Input::json_schema())?);
            Ok(Outcome::Success)
        }
    }
}

/// The repository root: `--repo`, else the git work tree of the current directory, else the
/// current directory.
fn repo_root(arg: &RepoArg) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &arg.repo {
        return Ok(dir.clone());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(slipway_vcs::toplevel(&cwd).unwrap_or(cwd))
}

/// The repository's policy set: the built-in pack, its policies and its overrides.
pub fn load_set(root: &Path) -> anyhow::Result<PolicySet> {
    let overrides = Overrides::load(root)?;
    Ok(PolicySet::load(root, &overrides)?)
}

fn eval(args: &PolicyEvalArgs) -> anyhow::Result<Outcome> {
    let (input, decision) = match (&args.input, &args.artifact, &args.env) {
        (Some(path), _, _) => {
            let root = repo_root(&args.repo)?;
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let input = Input::from_json(&path.display().to_string(), &text)?;
            let set = load_set(&root)?;
            let point = args.point.unwrap_or(input.decision);
            let decision = evaluate(&set, point, &input)?;
            (input, decision)
        }
        (None, Some(artifact), Some(env)) => {
            crate::commands::deliver::explain(&args.delivery, artifact, env)?
        }
        _ => anyhow::bail!("give --input FILE, or --artifact DIGEST with --env ENV"),
    };
    match (args.delivery.json, args.show_input) {
        (true, true) => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "input": input, "decision": decision })
            )?
        ),
        (true, false) => println!("{}", serde_json::to_string_pretty(&decision)?),
        (false, show_input) => {
            if show_input {
                println!("{}", serde_json::to_string_pretty(&input)?);
            }
            print!("{}", explain(&decision, &input.artifact.digest));
        }
    }
    Ok(if decision.allow {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The decision as people read it: the verdict, then each reason with its fix.
fn explain(decision: &Decision, digest: &str) -> String {
    let mut out = format!(
        "{} at {} for {digest}: {} denied, {} warned\n",
        if decision.allow { "ALLOW" } else { "DENY" },
        decision.point,
        decision.deny.len(),
        decision.warn.len(),
    );
    let mut reason = |mark: &str, reason: &Reason| {
        out.push_str(&format!("  {mark} {}: {}\n", reason.rule, reason.message));
        if let Some(remediation) = &reason.remediation {
            out.push_str(&format!("      fix: {remediation}\n"));
        }
        out.push_str(&format!("      from: {}\n", reason.source));
    };
    for denied in &decision.deny {
        reason("✗", denied);
    }
    for warned in &decision.warn {
        reason("!", warned);
    }
    out.push_str(&format!("bundle digest: {}\n", decision.bundle_digest));
    out.push_str(&format!("input digest:  {}\n", decision.input_digest));
    out
}

/// The decision in a few lines for a run's summary: the verdict and each reason.
pub fn summary(decision: &Decision) -> String {
    let mut out = format!(
        "policy {} {}: {} denied, {} warned (`slipway policy rules` explains each rule)\n",
        decision.point,
        if decision.allow { "allow" } else { "DENY" },
        decision.deny.len(),
        decision.warn.len(),
    );
    for (mark, reason) in decision
        .deny
        .iter()
        .map(|r| ("✗", r))
        .chain(decision.warn.iter().map(|r| ("!", r)))
    {
        out.push_str(&format!("  {mark} {}: {}\n", reason.rule, reason.message));
    }
    out
}

fn test(args: &PolicyTestArgs) -> anyhow::Result<Outcome> {
    let root = repo_root(&args.repo)?;
    let set = load_set(&root)?;
    let report = run_tests(&set, args.dir.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for test in &report.tests {
            let mark = match test.outcome {
                TestOutcome::Pass => "✓",
                TestOutcome::Fail => "✗",
                TestOutcome::Error => "!",
            };
            let detail = test
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            println!(
                "  {mark} {} ({}:{}, {} ms){detail}",
                test.name, test.file, test.line, test.duration_ms
            );
        }
        println!("{} passed, {} failed", report.passed, report.failed);
    }
    Ok(if report.ok() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

fn rules(args: &PolicyRulesArgs) -> anyhow::Result<Outcome> {
    let root = repo_root(&args.repo)?;
    let set = load_set(&root)?;
    let rules = set.rules();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rules)?);
    } else {
        for rule in &rules {
            let points: Vec<&str> = rule.points.iter().map(|p| p.as_str()).collect();
            let level = set
                .overrides()
                .level_of(&rule.id, rule.name.as_deref())
                .map(|level| format!(" [{}]", level.as_str()))
                .unwrap_or_default();
            println!(
                "{} {}{level} ({}; {})\n    {}",
                rule.id,
                rule.name.as_deref().unwrap_or(""),
                points.join(", "),
                rule.source,
                rule.title.as_deref().unwrap_or("")
            );
        }
        println!("bundle digest: {}", set.digest());
    }
    Ok(Outcome::Success)
}
