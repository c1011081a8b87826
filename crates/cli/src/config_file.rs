//! The configuration file (`--config invitd.toml` or `INVITD_CONFIG`): a
//! TOML table whose top-level keys are the long options of `invitd serve`
//! (and the global ones) with `_` for `-`, such as `bind`, `database_url`
//! or `mail_retry_schedule`.
//!
//! Layers, later ones winning: the defaults (clap's, from
//! `config::defaults`), the file, `INVITD_*` variables, flags. The file is
//! applied by handing its values to clap as if they were flags, for every
//! key that neither a flag nor a variable set, so each value goes through
//! the same parser, checks and help as the flag it stands for, and the
//! defaults keep their one home. An unknown key, a value of the wrong kind
//! or one the flag's parser refuses stops the start with the file, the key
//! and what was wrong.

use anyhow::{Context, anyhow, bail};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Parses `argv` with the configuration file applied. Command-line
/// mistakes exit as clap reports them; file mistakes are errors.
pub(crate) fn parse<T: CommandFactory + FromArgMatches>(argv: Vec<OsString>) -> anyhow::Result<T> {
    let (matches, _) = matches_with_file(T::command(), argv)?;
    Ok(T::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()))
}

/// The final matches of `argv` on `root`, and the keys taken from the file.
pub(crate) fn matches_with_file(
    mut root: Command,
    argv: Vec<OsString>,
) -> anyhow::Result<(ArgMatches, HashMap<String, String>)> {
    root.build();
    let first = root.clone().try_get_matches_from(&argv).unwrap_or_else(|e| e.exit());
    let Some(path) = leaf(&first).get_one::<PathBuf>("config").cloned() else {
        return Ok((first, HashMap::new()));
    };
    let table = read(&path)?;
    let known = file_keys(&root);
    let leaf_cmd = leaf_command(&root, &first);
    let given = leaf(&first);
    let mut extra: Vec<OsString> = Vec::new();
    let mut from_file = HashMap::new();
    for (key, value) in &table {
        let Some(arg) = known.iter().find(|a| key_of(a) == *key) else {
            let names: Vec<String> = known.iter().map(key_of).collect();
            bail!("{}: unknown key `{key}`; the keys are: {}", path.display(), names.join(", "));
        };
        let id = arg.get_id().as_str();
        // Keys of other commands (a `serve` setting while running
        // `migrate`) are fine in the file and not used here.
        if !leaf_cmd.get_arguments().any(|a| a.get_id() == id) {
            continue;
        }
        if matches!(
            given.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let args = as_flags(arg, value)
            .map_err(|what| anyhow!("{}: key `{key}` = {value}: {what}", path.display()))?;
        extra.extend(args);
        from_file.insert(key.clone(), id.to_string());
    }
    let mut full = argv;
    full.extend(extra);
    let matches = root.try_get_matches_from(&full).map_err(|e| {
        let rendered = e.to_string();
        let first_line = rendered.lines().next().unwrap_or("").trim_start_matches("error: ");
        let from = e.get(clap::error::ContextKind::InvalidArg).map(|a| a.to_string());
        match from.and_then(|a| {
            from_file.keys().find(|k| a.starts_with(&format!("--{}", k.replace('_', "-"))))
        }) {
            Some(key) => anyhow!("{}: key `{key}`: {first_line}", path.display()),
            None => e.exit(),
        }
    })?;
    Ok((matches, from_file))
}

fn read(path: &Path) -> anyhow::Result<toml::Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    text.parse::<toml::Table>().map_err(|e| anyhow!("{}: not valid TOML: {e}", path.display()))
}

/// The settings a file may hold: the options of `serve`, globals included
/// (the file and help options themselves excepted), in `--help` order.
pub(crate) fn file_keys(root: &Command) -> Vec<Arg> {
    root.find_subcommand("serve")
        .into_iter()
        .flat_map(Command::get_arguments)
        .filter(|a| {
            a.get_long().is_some() && !matches!(a.get_id().as_str(), "config" | "help" | "version")
        })
        .cloned()
        .collect()
}

/// An option's key in the file: its long name with `_` for `-`.
pub(crate) fn key_of(arg: &Arg) -> String {
    arg.get_long().unwrap_or_default().replace('-', "_")
}

/// The matches of the deepest subcommand (where global options land too).
fn leaf(m: &ArgMatches) -> &ArgMatches {
    match m.subcommand() {
        Some((_, sub)) => leaf(sub),
        None => m,
    }
}

fn leaf_command<'a>(cmd: &'a Command, m: &ArgMatches) -> &'a Command {
    match m.subcommand() {
        Some((name, sub)) => match cmd.find_subcommand(name) {
            Some(c) => leaf_command(c, sub),
            None => cmd,
        },
        None => cmd,
    }
}

/// A file value as the flags that say the same.
fn as_flags(arg: &Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let flag = format!("--{}", arg.get_long().unwrap_or_default());
    if matches!(arg.get_action(), ArgAction::SetTrue) {
        let on = match value {
            toml::Value::Boolean(b) => *b,
            toml::Value::String(s) => parse_bool(s).ok_or("expects true or false")?,
            toml::Value::Integer(1) => true,
            toml::Value::Integer(0) => false,
            _ => return Err("expects true or false".into()),
        };
        return Ok(if on { vec![flag.into()] } else { vec![] });
    }
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) if arg.get_value_delimiter().is_some() => items
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s.clone()),
                other => Err(format!("expects a list of strings, found {other}")),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        toml::Value::Array(_) => return Err("expects a single value, not a list".into()),
        _ => return Err("expects a single value".into()),
    };
    Ok(vec![format!("{flag}={text}").into()])
}

/// The spellings a boolean setting takes, in the file and in variables.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "y" | "t" => Some(true),
        "false" | "0" | "no" | "off" | "n" | "f" => Some(false),
        _ => None,
    }
}
