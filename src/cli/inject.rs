//! `inject`: a template's `{{ sesame://LABEL }}` and `{{ bao://MOUNT/PATH#FIELD }}` rendered to
//! stdout, or to a file written atomically with mode 0600 (`crate::template` owns the rules).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;

use super::Context;
use crate::error::{Error, Result};
use crate::openbao::Connection;
use crate::openbao::reference;
use crate::template::Template;
use crate::usage::Event;

#[derive(Args)]
#[command(
    after_help = "A reference is {{ sesame://LABEL }} or {{ bao://MOUNT/PATH#FIELD }}, spaces or tabs \
    allowed inside the braces; there are no expressions. Any other {{ ... }} is copied as written. \
    Nothing is written unless every reference is found (a missing label is exit 5)."
)]
pub struct InjectArgs {
    /// The template [default: stdin]
    #[arg(short = 'i', long = "in", value_name = "TEMPLATE")]
    input: Option<PathBuf>,
    /// Write the result to FILE (atomically, mode 0600) instead of stdout
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(super) fn inject(ctx: &Context, args: InjectArgs) -> Result<()> {
    // Parsed whole before the vault is opened: a typo costs no passphrase.
    let template = match args.input.as_deref() {
        Some(path) if path.as_os_str() != "-" => Template::read(path)?,
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::usage(
                    "inject reads the template from stdin, which is a terminal: give it with \
                     -i TEMPLATE or pipe it in (sesame inject < app.conf.tpl)",
                ));
            }
            Template::read_from(stdin.lock(), 0, "stdin")?
        }
    };
    if let Some(path) = &args.output
        && is_same_file(path, &ctx.path)
    {
        return Err(Error::usage(format!(
            "{} is the vault itself; inject writes plaintext: name another file with -o",
            path.display()
        )));
    }
    let unlocked = ctx.unlock()?;
    template.check_labels(&unlocked.vault)?;
    let refs: Vec<_> = template.bao_references().collect();
    let fetched = if refs.is_empty() {
        BTreeMap::new()
    } else {
        reference::resolve(&Connection::from_env()?, refs)?
    };
    // Confirmed secrets: one approval each, before anything is written.
    let opened = crate::approval::open_current(&unlocked, template.secret_labels())?;
    let rendered = template.render(&unlocked.vault, &opened, &fetched)?;
    let detail = match &args.output {
        Some(path) => {
            crate::store::write_private(path, &rendered)?;
            format!("to {}", path.display())
        }
        None => {
            super::write_stdout(&rendered)?;
            "to stdout".to_string()
        }
    };
    let mut event = Event::new("inject", template.logged()).detail(detail);
    event.program = crate::helpers::calling_program();
    ctx.record(&unlocked, event);
    Ok(())
}

/// Whether `a` and `b` name one existing file (the same device and inode, through any link).
fn is_same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
