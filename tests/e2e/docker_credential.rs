//! `sesame docker-credential` and `docker-credential-sesame`: docker's credential helper
//! protocol byte for byte as docker drives it, and a real client (`skopeo` against a local
//! `docker-registry` with htpasswd) using sesame through `credHelpers`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::harness::*;

const NOT_FOUND: &str = "credentials not found in native keychain\n";

/// `DIR/docker-credential-sesame`, written by `sesame helpers install DIR`.
fn install_link(sb: &Sandbox) -> PathBuf {
    let bin = sb.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let a = sb.cmd().args(["helpers", "install"]).arg(&bin).succeeds();
    assert_has(&stderr(&a), "docker-credential-sesame");
    bin.join("docker-credential-sesame")
}

/// The link run as docker runs it: `docker-credential-sesame ACTION`, `input` on stdin.
fn link_run(sb: &Sandbox, link: &Path, action: &str, input: &str) -> std::process::Output {
    let mut cmd = sb.helper_process(link);
    cmd.arg(action);
    fed(cmd, input)
}

#[test]
fn docker_credential_speaks_dockers_protocol_byte_for_byte() {
    let sb = Sandbox::new();
    sb.succeeds(["unlock", "--timeout", "5m"]);
    let link = install_link(&sb);
    // Installing again keeps the link; a stale link is replaced; another file is left alone.
    install_link(&sb);
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/nonexistent/sesame", &link).unwrap();
    install_link(&sb);
    assert_eq!(std::fs::read_link(&link).unwrap(), sesame_path());
    let other = sb.path("other-bin");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("docker-credential-sesame"), "#!/bin/sh\n").unwrap();
    let a = sb.cmd().args(["helpers", "install"]).arg(&other).assert();
    fails(a, 2, "exists and is not a link");
    // store: the JSON docker login writes.
    let out = link_run(
        &sb,
        &link,
        "store",
        r#"{"ServerURL":"https://registry.example.com:5000/v2/","Username":"ann","Secret":"p\"a\\ss"}"#,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let secret = sb.secret_json("docker/registry.example.com_5000");
    assert_eq!(secret["env"], "DOCKER_TOKEN_REGISTRY_EXAMPLE_COM_5000");
    assert_eq!(secret["note"], "username=ann");
    // get: the server URL on stdin, as docker writes it (no newline).
    let out = link_run(&sb, &link, "get", "registry.example.com:5000");
    assert_eq!(out.status.code(), Some(0));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({
            "ServerURL": "registry.example.com:5000",
            "Username": "ann",
            "Secret": "p\"a\\ss",
        })
    );
    // Not found: exactly docker's text on stdout, exit 1.
    let out = link_run(&sb, &link, "get", "https://other.example.com");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), NOT_FOUND);
    // list: server → user name.
    let out = link_run(&sb, &link, "list", "");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        list,
        serde_json::json!({"registry.example.com:5000": "ann"})
    );
    // erase (docker logout) deletes nothing.
    let out = link_run(&sb, &link, "erase", "registry.example.com:5000");
    assert!(out.status.success());
    assert_eq!(sb.labels(), ["docker/registry.example.com_5000"]);
    // The same through `sesame docker-credential`.
    let a = sb
        .with_stdin(["docker-credential", "get"], "registry.example.com:5000\n")
        .succeeds();
    assert_has(&stdout(&a), "\"Secret\":\"p\\\"a\\\\ss\"");
    // A bad store request is refused and never echoed.
    let out = link_run(
        &sb,
        &link,
        "store",
        r#"{"ServerURL":"h","Secret":"leaked-secret""#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert_lacks(&String::from_utf8_lossy(&out.stderr), "leaked-secret");
    let (actions, _) = sb.log_actions();
    let helper_uses: Vec<&String> = actions
        .iter()
        .filter(|a| a.starts_with("docker-"))
        .collect();
    assert_eq!(
        helper_uses,
        [
            "docker-get",
            "docker-erase",
            "docker-list",
            "docker-get",
            "docker-get",
            "docker-store"
        ]
    );
}

/// A `docker-registry` on 127.0.0.1 with htpasswd auth (user ann, password `password`), killed
/// when dropped.
struct Registry {
    /// Held for its drop, which stops the process.
    _process: KilledOnDrop,
    port: u16,
}

impl Registry {
    fn start(sb: &Sandbox, password: &str) -> Option<Registry> {
        let htpasswd = command("htpasswd")
            .args(["-Bbn", "ann", password])
            .output()
            .ok()?;
        if !htpasswd.status.success() {
            return None;
        }
        let auth = sb.write_file("htpasswd", &htpasswd.stdout);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let config = sb.write_file(
            "registry.yml",
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: sesame-test\n    path: {}\n",
                sb.path("registry-data").display(),
                auth.display()
            ),
        );
        let child = command("docker-registry")
            .arg("serve")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let registry = Registry {
            _process: KilledOnDrop(child),
            port,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if start.elapsed() > Duration::from_secs(15) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(registry)
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex(&sha2::Sha256::digest(bytes)))
}

/// A one-layer OCI image layout at `dir`, tagged `latest`: enough for `skopeo copy` to push.
fn oci_image(dir: &Path) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let digest = sha256(bytes);
        std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
        (digest, bytes.len())
    };
    let (layer, layer_len) = put(&[0u8; 1024]); // an empty tar
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{layer}"]}}}}"#
    );
    let (config, config_len) = put(config.as_bytes());
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":{config_len}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{layer_len}}}]}}"#
    );
    let (manifest, manifest_len) = put(manifest.as_bytes());
    std::fs::write(
        dir.join("index.json"),
        format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{manifest}","size":{manifest_len},"annotations":{{"org.opencontainers.image.ref.name":"latest"}}}}]}}"#
        ),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

/// `skopeo ARGS` with `bin` (holding docker-credential-sesame) first on PATH and the sandbox's
/// vault and agent, no passphrase.
fn skopeo(sb: &Sandbox, bin: &Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = command("skopeo");
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", sb.path("home"))
        .env("XDG_RUNTIME_DIR", sb.runtime_dir())
        .env("SESAME_VAULT", &sb.vault)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    rx.recv_timeout(Duration::from_secs(60))
        .expect("skopeo finished")
        .unwrap()
}

fn skopeo_ok(sb: &Sandbox, bin: &Path, args: &[&str], input: &str) -> String {
    let out = skopeo(sb, bin, args, input);
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn skopeo_logs_in_pushes_and_inspects_with_credentials_only_sesame_holds() {
    let missing: Vec<&str> = ["skopeo", "docker-registry", "htpasswd"]
        .into_iter()
        .filter(|tool| {
            command("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped: {} not installed", missing.join(", "));
        return;
    }
    let sb = Sandbox::new();
    sb.succeeds(["unlock", "--timeout", "5m"]);
    std::fs::create_dir(sb.path("home")).unwrap();
    let link = install_link(&sb);
    let bin = link.parent().unwrap().to_path_buf();
    let Some(registry) = Registry::start(&sb, "reg-pass-0123") else {
        eprintln!("skipped: docker-registry did not start");
        return;
    };
    let host = format!("127.0.0.1:{}", registry.port);
    let label = format!("docker/127.0.0.1_{}", registry.port);
    let auth = sb.write_file(
        "auth.json",
        format!(r#"{{"credHelpers":{{"{host}":"sesame"}}}}"#),
    );
    let authfile = format!("--authfile={}", auth.display());
    // login checks the password with the registry, then hands it to the helper's store.
    skopeo_ok(
        &sb,
        &bin,
        &[
            "login",
            "--tls-verify=false",
            &authfile,
            "-u",
            "ann",
            "--password-stdin",
            &host,
        ],
        "reg-pass-0123\n",
    );
    assert_eq!(sb.get(&label), "reg-pass-0123\n");
    assert_eq!(sb.secret_json(&label)["note"], "username=ann");
    // The auth file holds no credential: only the helper's name.
    assert_lacks(&std::fs::read_to_string(&auth).unwrap(), "reg-pass");
    // push and inspect with the credential from sesame.
    let image = sb.path("image");
    oci_image(&image);
    let dest = format!("docker://{host}/team/app:1");
    skopeo_ok(
        &sb,
        &bin,
        &[
            "copy",
            "--insecure-policy",
            "--dest-tls-verify=false",
            &authfile,
            &format!("oci:{}:latest", image.display()),
            &dest,
        ],
        "",
    );
    let inspected = skopeo_ok(
        &sb,
        &bin,
        &["inspect", "--tls-verify=false", &authfile, &dest],
        "",
    );
    assert_has(&inspected, "team/app");
    // Without the helper the registry refuses.
    let empty = sb.write_file("empty-auth.json", "{}");
    let out = skopeo(
        &sb,
        &bin,
        &[
            "inspect",
            "--tls-verify=false",
            &format!("--authfile={}", empty.display()),
            &dest,
        ],
        "",
    );
    assert!(!out.status.success());
    // The uses are recorded with the calling program.
    let events = sb.json(["log", &label, "--json"]);
    let get = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "docker-get")
        .expect("a docker-get event");
    assert_eq!(get["program"], "skopeo", "{get}");
    // logout asks the helper to erase: recorded, the secret kept.
    skopeo_ok(&sb, &bin, &["logout", &authfile, &host], "");
    assert_eq!(sb.get(&label), "reg-pass-0123\n");
    drop(registry);
}

#[test]
fn docker_store_never_rotates_another_users_secret_and_fails_so_docker_login_says_so() {
    let sb = Sandbox::new();
    let request = |user: &str, secret: &str| {
        sb.with_stdin(
            ["docker-credential", "store"],
            format!(r#"{{"ServerURL":"ghcr.io","Username":"{user}","Secret":"{secret}"}}"#),
        )
    };
    let store = |user: &str, secret: &str| request(user, secret).succeeds();
    store("ann", "tok-ann");
    // Declined: exit 1 with the reason on stdout, where docker looks for a helper's error
    // ("Error saving credentials: ... out: `...`"); it used to exit 0 ("Login Succeeded").
    let a = request("bob", "tok-bob").assert().code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert_eq!(
        out,
        "sesame: store for ghcr.io: docker/ghcr.io not changed, its note names another user \
         (`sesame rotate` or `sesame edit` it)\n"
    );
    assert!(!out.contains("tok-bob"));
    assert_has(
        &stderr(&a),
        "docker/ghcr.io not changed, its note names another user",
    );
    assert_eq!(sb.get("docker/ghcr.io"), "tok-ann\n");
    assert_eq!(sb.secret_json("docker/ghcr.io")["note"], "username=ann");
    // The same user: rotated.
    store("ann", "tok-ann-2");
    assert_eq!(sb.get("docker/ghcr.io"), "tok-ann-2\n");
}

#[test]
fn docker_list_names_docker_hub_as_docker_does() {
    // docker keys credentials by what `list` returns: Docker Hub is `https://index.docker.io/v1/`,
    // never the bare host.
    let sb = Sandbox::new();
    sb.with_stdin(
        ["docker-credential", "store"],
        r#"{"ServerURL":"https://index.docker.io/v1/","Username":"ann","Secret":"dckr_pat"}"#,
    )
    .succeeds();
    let list: serde_json::Value =
        serde_json::from_str(&sb.ok(["docker-credential", "list"])).unwrap();
    assert_eq!(
        list,
        serde_json::json!({"https://index.docker.io/v1/": "ann"})
    );
}

#[test]
fn a_docker_server_url_with_a_password_in_it_is_never_echoed() {
    let sb = Sandbox::new();
    let url = "https://ann:hunter2@registry.example.com/v2/";
    let a = sb
        .with_stdin(
            ["docker-credential", "store"],
            format!(r#"{{"ServerURL":"{url}","Username":"ann","Secret":"tok"}}"#),
        )
        .assert();
    let a = fails(a, 2, "https://…@registry.example.com/v2/");
    assert_lacks(&stderr(&a), "hunter2");
    for action in ["get", "erase"] {
        let a = sb.with_stdin(["docker-credential", action], url).assert();
        assert_lacks(&stderr(&a), "hunter2");
        assert_lacks(&stdout(&a), "hunter2");
    }
    let log = sb.ok(["log", "--json"]);
    assert_lacks(&log, "hunter2");
    assert_has(&log, "…@registry.example.com");
}
