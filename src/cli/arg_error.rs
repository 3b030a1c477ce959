//! Command-line errors in the shape argparse gives them in ansible-playbook: the usage
//! line, then `PROG: error: MESSAGE`, with argparse's wording for the usual cases.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::CommandFactory;

/// Renders a clap error as argparse would print it, plus a hint when clap has a
/// suggestion.
///
/// NOTE: argparse also prints ansible-playbook's whole help text after the error;
/// rplay prints only the usage line.
pub fn render<C: CommandFactory>(err: &clap::Error) -> String {
    let mut command = C::command();
    let name = command.get_name().to_string();
    let usage = command.render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let mut text = format!("usage: {usage}\n{name}: error: {}\n", message(err));
    if let Some(suggestion) = context_text(err, ContextKind::SuggestedArg) {
        text.push_str(&format!("  = hint: did you mean '{suggestion}'?\n"));
    }
    text
}

/// argparse's message for the error.
fn message(err: &clap::Error) -> String {
    let argument = context_text(err, ContextKind::InvalidArg).unwrap_or_default();
    let value = context_text(err, ContextKind::InvalidValue);
    match err.kind() {
        ErrorKind::UnknownArgument => format!("unrecognized arguments: {argument}"),
        ErrorKind::MissingRequiredArgument => format!(
            "the following arguments are required: {}",
            positional_names(err).join(", ")
        ),
        ErrorKind::InvalidValue if value.as_deref() == Some("") => {
            format!("argument {argument}: expected one argument")
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => format!(
            "argument {argument}: invalid value: '{}'",
            value.unwrap_or_default()
        ),
        ErrorKind::ArgumentConflict => format!(
            "argument {argument}: not allowed with argument {}",
            context_text(err, ContextKind::PriorArg).unwrap_or_default()
        ),
        _ => clap_first_line(err),
    }
}

/// Returns the names of missing positional arguments as argparse prints them:
/// `<PLAYBOOK>...` becomes `playbook`.
fn positional_names(err: &clap::Error) -> Vec<String> {
    let names = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::Strings(names)) => names.clone(),
        Some(ContextValue::String(name)) => vec![name.clone()],
        _ => Vec::new(),
    };
    names
        .iter()
        .map(|name| {
            name.trim_end_matches("...")
                .trim_matches(|c| c == '<' || c == '>')
                .to_lowercase()
        })
        .collect()
}

fn context_text(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(text) => Some(text.clone()),
        ContextValue::Strings(texts) => Some(texts.join(" ")),
        other => Some(other.to_string()),
    }
}

/// clap's own message without its `error: ` prefix, for kinds argparse has no
/// counterpart for.
fn clap_first_line(err: &clap::Error) -> String {
    let rendered = err.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    first.trim_start_matches("error: ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::PlaybookArgs;
    use clap::Parser;

    fn error_for(args: &[&str]) -> String {
        let err = PlaybookArgs::try_parse_from(args).unwrap_err();
        render::<PlaybookArgs>(&err)
    }

    #[test]
    fn unknown_flag_is_unrecognized() {
        let text = error_for(&["rplay", "--no-such-flag", "play.yml"]);
        assert!(text.starts_with("usage: rplay "), "{text}");
        assert!(
            text.contains("\nrplay: error: unrecognized arguments: --no-such-flag\n"),
            "{text}"
        );
    }

    #[test]
    fn misspelled_flag_gets_suggestion() {
        let text = error_for(&["rplay", "--limitt", "x", "play.yml"]);
        assert!(text.contains("did you mean '--limit'?"), "{text}");
    }

    #[test]
    fn missing_playbook_is_required() {
        let text = error_for(&["rplay"]);
        assert!(
            text.contains("rplay: error: the following arguments are required: playbook\n"),
            "{text}"
        );
    }

    #[test]
    fn option_without_value_expects_argument() {
        let text = error_for(&["rplay", "play.yml", "--limit"]);
        assert!(text.contains("expected one argument"), "{text}");
    }

    #[test]
    fn bad_number_is_invalid_value() {
        let text = error_for(&["rplay", "-f", "x", "play.yml"]);
        assert!(text.contains("invalid value: 'x'"), "{text}");
    }
}
