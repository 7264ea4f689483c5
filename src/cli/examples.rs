//! The examples each command shows after its `--help` (and in the man page).

/// An example for each command, shown after its help.
pub(super) fn examples(command: &str) -> Option<&'static str> {
    Some(match command {
        "init" => "  sesame init\n  sesame --vault ~/work.sesame init --kdf-target 1s",
        "add" => {
            "  sesame add openai/prod                 (type the value at the hidden prompt)\n  \
                  echo \"$STRIPE_KEY\" | sesame add stripe/test --env STRIPE_KEY --rotate-every 90d"
        }
        "get" => {
            "  sesame get openai/prod\n  sesame get openai/prod --version 2     (an older value)"
        }
        "edit" => {
            "  sesame edit openai/prod --env OPENAI_API_KEY --note \"billing account\"\n  \
                   sesame edit openai/prod --rename openai/main"
        }
        "rm" => "  sesame rm stripe/test\n  sesame rm stripe/test --yes             (no question)",
        "show" => "  sesame show openai/prod\n  sesame show openai/prod --json",
        "rotate" => {
            "  sesame rotate openai/prod                (type the new value at the hidden prompt)\n  \
                     sesame rotate openai/prod --verify 'curl -fsS -H \"Authorization: Bearer $OPENAI_PROD\" https://api.openai.com/v1/models'"
        }
        "history" => "  sesame history openai/prod",
        "rollback" => "  sesame rollback openai/prod\n  sesame rollback openai/prod --to 2",
        "check" => "  sesame check || echo \"rotations are due\"",
        "passwd" => "  sesame passwd\n  sesame passwd --kdf-memory 256MiB",
        "recover" => {
            "  sesame recover                         (asks for the code, then a new passphrase)"
        }
        "rekey" => "  sesame rekey > new-recovery-code.txt",
        "run" => {
            "  sesame run --env OPENAI_API_KEY=openai/prod -- python3 app.py\n  \
                  sesame run --profile web --mask -- npm start\n  \
                  sesame run --env-file app.env -- ./deploy.sh"
        }
        "profile" => {
            "  sesame profile set web OPENAI_API_KEY=openai/prod STRIPE_KEY=stripe/test\n  \
                      sesame profile list\n  sesame profile rm web"
        }
        "log" => "  sesame log\n  sesame log openai/prod --json",
        "backup" => "  sesame backup\n  sesame backup /mnt/usb/",
        "backups" => "  sesame backups\n  sesame backups --json",
        "verify" => "  sesame verify\n  sesame verify /mnt/usb/vault-20261125T161515Z.sesame",
        "restore" => {
            "  sesame restore ~/.local/share/sesame/backups/auto/vault-20261125T161515.902Z.sesame"
        }
        "import" => "  sesame import --dotenv .env --prefix myapp",
        "export" => "  sesame export --dotenv > app.env        (references, safe to commit)",
        "unlock" => "  sesame unlock\n  sesame unlock --timeout 8h",
        "lock" => "  sesame lock\n  sesame lock --all",
        "status" => "  sesame status\n  sesame status --json",
        "slot" => {
            "  sesame slot list\n  sesame slot add bao-transit --key sesame\n  sesame slot rm 3"
        }
        "push" => "  sesame push openai/prod stripe/test --to bao://secret/team/app",
        "pull" => "  sesame pull bao://secret/team/app --prefix team",
        "completions" => {
            "  sesame completions bash > ~/.local/share/bash-completion/completions/sesame\n  \
                          sesame completions zsh > ~/.zfunc/_sesame"
        }
        "man" => "  sesame man > ~/.local/share/man/man1/sesame.1",
        "inject" => {
            "  sesame inject -i .npmrc.tpl -o .npmrc\n  \
                     echo 'token: {{ sesame://api/prod }}' | sesame inject"
        }
        "helpers" => "  sesame helpers install ~/.local/bin",
        _ => return None,
    })
}
