//! A hidden prompt on the terminal (`/dev/tty`) that always gives the terminal back as it found
//! it. A prompt that turns echo off and lets Ctrl-C kill the process leaves the shell typing
//! blind; here the terminal's own interrupt keys are read as bytes while the prompt runs, so
//! Ctrl-C puts the settings back before sesame exits (with 130, as a shell reports Ctrl-C).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};

use rustix::termios::{self, LocalModes, OptionalActions, SpecialCodeIndex, Termios};
use zeroize::Zeroizing;

/// The longest line the prompt keeps; longer input is read and dropped, so the caller sees a
/// line over its own limit and refuses it.
const MAX_LINE: usize = 64 * 1024;

/// Shows `text` on the terminal and reads one line without echoing it. Ctrl-C or Ctrl-\ restore
/// the terminal and end the process (exit 130); Ctrl-D on an empty line is end of input.
pub(crate) fn read_hidden(text: &str) -> io::Result<Zeroizing<String>> {
    let mut tty = OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let saved = termios::tcgetattr(&tty)?;
    let mut quiet = saved.clone();
    quiet.local_modes &= !(LocalModes::ECHO | LocalModes::ICANON | LocalModes::ISIG);
    quiet.special_codes[SpecialCodeIndex::VMIN] = 1;
    quiet.special_codes[SpecialCodeIndex::VTIME] = 0;
    tty.write_all(text.as_bytes())?;
    tty.flush()?;
    termios::tcsetattr(&tty, OptionalActions::Now, &quiet)?;
    let read = read_line(&mut tty, &saved);
    let restored = termios::tcsetattr(&tty, OptionalActions::Now, &saved);
    let _ = tty.write_all(b"\n");
    restored?;
    let bytes = read?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the input is not UTF-8"))?;
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    out.push_str(text);
    Ok(out)
}

/// Reads keys until Enter: Backspace and Ctrl-U edit, Ctrl-C and Ctrl-\ interrupt.
fn read_line(tty: &mut File, saved: &Termios) -> io::Result<Zeroizing<Vec<u8>>> {
    let interrupt = saved.special_codes[SpecialCodeIndex::VINTR];
    let quit = saved.special_codes[SpecialCodeIndex::VQUIT];
    let erase = saved.special_codes[SpecialCodeIndex::VERASE];
    let kill = saved.special_codes[SpecialCodeIndex::VKILL];
    let eof = saved.special_codes[SpecialCodeIndex::VEOF];
    let mut line = Zeroizing::new(Vec::with_capacity(4096));
    let mut key = [0u8; 1];
    loop {
        if tty.read(&mut key)? == 0 {
            return Ok(line); // the terminal is gone: what was typed so far
        }
        match key[0] {
            b'\r' | b'\n' => return Ok(line),
            k if k == interrupt || k == quit || k == 0x03 => {
                let _ = termios::tcsetattr(&*tty, OptionalActions::Now, saved);
                let _ = tty.write_all(b"\n");
                std::process::exit(130);
            }
            k if k == erase || k == 0x7f || k == 0x08 => {
                // One character back: its continuation bytes, then its first byte.
                while line.last().is_some_and(|b| b & 0xC0 == 0x80) {
                    line.pop();
                }
                line.pop();
            }
            k if k == kill || k == 0x15 => line.clear(),
            k if k == eof && line.is_empty() => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of input at the prompt",
                ));
            }
            k if line.len() < MAX_LINE => line.push(k),
            _ => {}
        }
    }
}
