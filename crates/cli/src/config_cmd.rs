//! `invitd config example` (a complete, commented file that loads as it
//! is) and `invitd config show` (the settings `invitd serve` would run
//! with, and where each comes from, secrets as `***`). Both are written
//! from the options themselves, so a new option appears in them with its
//! help, variable and default without anyone remembering to add it.

use crate::config_file::{file_keys, key_of, matches_with_file};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, Command};
use std::ffi::OsString;

/// The example file.
pub(crate) fn example(mut root: Command) -> String {
    root.build();
    let mut out = String::from(
        "# invitd configuration: `invitd serve --config invitd.toml` (or INVITD_CONFIG).\n\
         # Every key is a long option of `invitd serve` with `_` for `-`. Variables\n\
         # (INVITD_*) and flags override what is set here. Each value below is the\n\
         # default; a commented-out key has none.\n",
    );
    for arg in file_keys(&root) {
        out.push('\n');
        for line in wrap(&help_of(&arg), 76) {
            out.push_str(&format!("# {line}\n"));
        }
        let env = arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        out.push_str(&format!("# flag --{}, variable {env}\n", arg.get_long().unwrap_or_default()));
        let key = key_of(&arg);
        let defaults: Vec<String> =
            arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        match (arg.get_action(), defaults.as_slice()) {
            (ArgAction::SetTrue, _) => out.push_str(&format!("{key} = false\n")),
            (_, [one]) => out.push_str(&format!("{key} = {}\n", toml_value(one))),
            _ if arg.get_value_delimiter().is_some() => out.push_str(&format!("# {key} = []\n")),
            _ => out.push_str(&format!("# {key} = \"\"\n")),
        }
    }
    out
}

/// The effective settings of `invitd serve` under the same file,
/// variables and global flags as `argv` (an `invitd config show` line).
pub(crate) fn show(root: Command, argv: Vec<OsString>) -> anyhow::Result<String> {
    let mut built = root.clone();
    built.build();
    // The file and the global options given with `config show` itself.
    let given = built.clone().try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
    let given = given.subcommand().and_then(|(_, m)| m.subcommand()).map_or(&given, |(_, m)| m);
    let mut serve_argv: Vec<OsString> = vec!["invitd".into(), "serve".into()];
    for arg in built.get_arguments().filter(|a| a.is_global_set()) {
        let id = arg.get_id().as_str();
        if given.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let long = arg.get_long().unwrap_or_default();
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            serve_argv.push(format!("--{long}").into());
        } else if let Some(values) = given.get_raw(id) {
            for v in values {
                let mut flag = OsString::from(format!("--{long}="));
                flag.push(v);
                serve_argv.push(flag);
            }
        }
    }
    let (matches, from_file) = matches_with_file(root, serve_argv)?;
    let serve = matches.subcommand_matches("serve").unwrap_or(&matches);
    let mut out =
        String::from("# The settings `invitd serve` runs with here, and where each comes from.\n");
    for arg in file_keys(&built) {
        let key = key_of(&arg);
        let id = arg.get_id().as_str();
        let source = if from_file.contains_key(&key) {
            "file".to_string()
        } else {
            match serve.value_source(id) {
                Some(ValueSource::EnvVariable) => {
                    format!(
                        "variable {}",
                        arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default()
                    )
                }
                Some(ValueSource::CommandLine) => "flag".to_string(),
                _ => "default".to_string(),
            }
        };
        let raw: Vec<String> = serve
            .get_raw(id)
            .map(|vals| vals.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = if matches!(arg.get_action(), ArgAction::SetTrue) {
            serve.get_flag(id).to_string()
        } else if raw.is_empty() {
            out.push_str(&format!("# {key} is not set ({source})\n"));
            continue;
        } else if arg.get_value_delimiter().is_some() {
            let items: Vec<String> =
                raw.iter().map(|v| toml::Value::String(v.clone()).to_string()).collect();
            format!("[{}]", items.join(", "))
        } else {
            toml_value(&redact(&key, &raw.join(",")))
        };
        out.push_str(&format!("{key} = {value}  # {source}\n"));
    }
    Ok(out)
}

/// A value as TOML: a whole number bare, anything else a quoted string.
fn toml_value(s: &str) -> String {
    if s.parse::<i64>().is_ok() {
        s.to_string()
    } else {
        toml::Value::String(s.to_string()).to_string()
    }
}

/// Secrets as `***`: passwords inside URLs, and tokens.
fn redact(key: &str, value: &str) -> String {
    if key.ends_with("_url") {
        invitd_store::redact_url(value)
    } else if key.contains("token") || key.contains("secret") || key.contains("password") {
        "***".to_string()
    } else {
        value.to_string()
    }
}

fn help_of(arg: &Arg) -> String {
    arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default()
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}
