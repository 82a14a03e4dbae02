//! `brim models list|show|check`.

use std::process::ExitCode;

use clap::Subcommand;

use crate::error::CliError;

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the presets with a line about each.
    List,
    /// Print a preset (or a model file, normalised) as TOML, to copy and edit.
    #[command(
        after_help = "Example:\n  brim models show balanced > my-model.toml\n  brim score leads.jsonl --model my-model.toml"
    )]
    Show {
        /// A preset (balanced, aggressive, conservative, intent) or a model file.
        name: String,
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Check a model file and list every problem in it.
    Check {
        /// The model file (TOML or JSON).
        path: String,
    },
}

pub fn run(command: ModelsCommand) -> Result<ExitCode, CliError> {
    match command {
        ModelsCommand::List => {
            for (name, _) in brim_core::PRESETS {
                let model = brim_core::ScoringModel::preset(name)?;
                println!("{name:<13} {}", model.description);
            }
        }
        ModelsCommand::Show { name, json } => {
            match (json, brim_core::ScoringModel::preset_toml(&name)) {
                // The preset file as shipped, with its comments.
                (false, Some(text)) => print!("{text}"),
                _ => {
                    let model = crate::load_model(&name)?;
                    if json {
                        println!("{}", model.to_json());
                    } else {
                        print!("{}", model.to_toml());
                    }
                }
            }
        }
        ModelsCommand::Check { path } => {
            let model = crate::load_model(&path)?;
            println!(
                "{path}: ok ({} fit rules, {} intent rules)",
                model.fit.rules.len(),
                model.intent.rules.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
