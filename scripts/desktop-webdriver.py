#!/usr/bin/env python3
"""The real desktop app driven through tauri-driver (WebDriver over WebKitWebDriver): launched with
--dashboard, its window opens, its page may invoke the app's commands but not the plugins', and the
Overview shows the proxy's endpoint (`data-testid="endpoint"`).

Run by scripts/desktop-webdriver.sh inside Xvfb and a private D-Bus session; plain W3C WebDriver over HTTP
(stdlib only). Environment: BIN (the app), WORK (a scratch dir), SCREENSHOT (optional PNG path for the
window). Prints one line per check and `desktop-webdriver: N passed, M failed`.
"""
import base64, json, os, socket, subprocess, sys, time, urllib.error, urllib.request

DRIVER_PORT = 4444
NATIVE_PORT = 4445  # where tauri-driver starts WebKitWebDriver
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(("ok   - " if ok else "FAIL - ") + what, flush=True)
    if ok:
        passed += 1
    else:
        failed += 1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wd(method, path, body=None, timeout=60):
    # tauri-driver now and then drops a request when the pooled connection to WebKitWebDriver it reuses
    # has gone stale; every call here but opening and closing the session is safe to repeat.
    repeatable = path != "/session" and method != "DELETE"
    for _ in range(3 if repeatable else 1):
        value = wd_once(method, path, body, timeout)
        if not (isinstance(value, dict) and "Disconnected" in str(value.get("error", ""))):
            break
        time.sleep(0.5)
    return value


def wd_once(method, path, body, timeout):
    req = urllib.request.Request(
        f"http://127.0.0.1:{DRIVER_PORT}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.load(resp)["value"]
    except urllib.error.HTTPError as e:  # WebDriver errors carry a JSON body
        return {"error": json.load(e)["value"]}
    except OSError as e:  # the driver or the app went away (DELETE closes the app under it)
        return {"error": repr(e)}


def wait_for_driver(deadline):
    # Both halves: tauri-driver answers before its WebKitWebDriver does, and drops a session request
    # it cannot forward yet.
    for port in (DRIVER_PORT, NATIVE_PORT):
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline:
                    return False
                time.sleep(0.2)
    return True


def main():
    work, binary = os.environ["WORK"], os.environ["BIN"]
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"host: 127.0.0.1\nport: {port}\napi-keys: [webdriver-key]\n"
                f"auth-dir: {work}/auth\nsecret-store: file\n")
    log = open(os.path.join(work, "tauri-driver.log"), "w")
    driver = subprocess.Popen(["tauri-driver", "--port", str(DRIVER_PORT), "--native-port", str(NATIVE_PORT)], stdout=log, stderr=log)
    session = None
    try:
        if not wait_for_driver(time.time() + 30):
            check(False, "tauri-driver listens")
            return
        caps = {"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": binary, "args": ["--config", config, "--dashboard"]}}}}
        created = wd("POST", "/session", caps, timeout=120)
        session = created.get("sessionId") if isinstance(created, dict) else None
        check(session is not None, f"a WebDriver session opens the app's window ({created if session is None else 'ok'})")
        if session is None:
            return
        title = wd("GET", f"/session/{session}/title")
        check(title == "Switchyard", f"the window's page is Switchyard's (title {title!r})")

        # The page's IPC as the UI uses it: its own commands are granted, the plugins' are not.
        invoke = """const [cmd, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(cmd, args).then(
                (value) => done({ok: value}), (error) => done({err: String(error && error.message || error)}));"""
        status = wd("POST", f"/session/{session}/execute/async",
                    {"script": invoke, "args": ["status", {}]})
        got = status.get("ok", {}).get("endpoint") if isinstance(status, dict) else None
        check(got == endpoint, f"invoke('status') from the page answers the endpoint ({status})")
        denied = wd("POST", f"/session/{session}/execute/async",
                    {"script": invoke, "args": ["plugin:clipboard-manager|read_text", {}]})
        check(isinstance(denied, dict) and "err" in denied and "not allowed" in denied["err"],
              f"a plugin command the capability does not grant is refused ({denied})")

        # The Overview asks the proxy for its status over IPC; wait for it to render.
        text, deadline = None, time.time() + 30
        while time.time() < deadline:
            found = wd("POST", f"/session/{session}/element",
                       {"using": "css selector", "value": '[data-testid="endpoint"]'})
            if isinstance(found, dict) and "error" not in found:
                element = next(iter(found.values()))
                text = wd("GET", f"/session/{session}/element/{element}/text")
                if endpoint in (text or ""):
                    break
            time.sleep(0.5)
        check(text is not None and endpoint in text,
              f'the Overview shows the endpoint {endpoint} in [data-testid="endpoint"] (found {text!r})')

        shot = os.environ.get("SCREENSHOT")
        if shot:
            time.sleep(1)  # let WebKit paint what the DOM already holds
            png = wd("GET", f"/session/{session}/screenshot")
            if isinstance(png, str):
                os.makedirs(os.path.dirname(shot), exist_ok=True)
                with open(shot, "wb") as f:
                    f.write(base64.b64decode(png))
                print(f"       window screenshot: {shot}")
    finally:
        if session:
            wd("DELETE", f"/session/{session}")  # closes the app
        driver.terminate()
        try:
            driver.wait(10)
        except subprocess.TimeoutExpired:
            driver.kill()
        print(f"desktop-webdriver: {passed} passed, {failed} failed")


if __name__ == "__main__":
    main()
    sys.exit(1 if failed or not passed else 0)
