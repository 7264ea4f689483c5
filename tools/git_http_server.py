#!/usr/bin/env python3
"""A git server over http for the credential helper tests: `git http-backend` run as CGI behind
HTTP Basic auth, on 127.0.0.1 only.

Usage: git_http_server.py ROOT USER TOKEN_FILE

Serves the repositories under ROOT (clone and push). A request is let through only with the user
USER and the password that TOKEN_FILE holds when the request arrives (so a test can change the
token, as a server that revoked it would); anything else gets 401 and a Basic challenge. Prints
the port it listens on, one line, then serves until killed.
"""

import base64
import http.server
import os
import subprocess
import sys


def main():
    root, user, token_file = sys.argv[1], sys.argv[2], sys.argv[3]
    backend = os.path.join(
        subprocess.run(["git", "--exec-path"], check=True, capture_output=True, text=True)
        .stdout.strip(),
        "git-http-backend",
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def authorized(self):
            with open(token_file, encoding="utf-8") as f:
                token = f.read().strip()
            want = base64.b64encode(f"{user}:{token}".encode()).decode()
            return self.headers.get("Authorization", "") == f"Basic {want}"

        def handle_git(self):
            if not self.authorized():
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="sesame test"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_PROJECT_ROOT": root,
                "GIT_HTTP_EXPORT_ALL": "1",
                "REMOTE_USER": user,
                "REMOTE_ADDR": "127.0.0.1",
                "REQUEST_METHOD": self.command,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GATEWAY_INTERFACE": "CGI/1.1",
                "SERVER_PROTOCOL": "HTTP/1.0",
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if self.headers.get("Git-Protocol"):
                env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
            out = subprocess.run([backend], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status, headers = 200, []
            for line in head.split(b"\r\n"):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = handle_git
        do_POST = handle_git

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
