#!/usr/bin/env bash
# Chronicle's main job, end to end, in a throw-away socket and data dir:
# the CLI starts the daemon by itself, then a session is written, saved,
# cleared, loaded back and exported as Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --bin chronicle --bin chronicled
chronicle="$PWD/target/debug/chronicle"

work=$(mktemp -d "${TMPDIR:-/tmp}/chronicle-demo.XXXXXX")
export CHRONICLE_SOCKET="$work/run/chronicle.sock" CHRONICLE_DATA_DIR="$work/data"
trap '"$chronicle" daemon stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

mkdir -p "$work/app/.git" "$work/app/src" && cd "$work/app"
echo 'fn login() {}' > src/login.rs
step() { printf '\n\033[1m$ chronicle %s\033[0m\n' "$*"; "$chronicle" "$@"; }

step status
step add "The login form rejects valid passwords. Can you fix it?"
"$chronicle" add --role assistant --model claude-sonnet - >/dev/null <<'MD'
The comparison used the unhashed password. Fixed:

```rust
fn login(user: &User, password: &str) -> bool {
    verify(&user.hash, password)
}
```
MD
step files add src/login.rs
step save "fix login"
step clear
step load "fix login"
step show
step ls
step export "fix login" --markdown -o "$work/fix-login.md"
printf '\n\033[1m--- %s ---\033[0m\n' "fix-login.md"
cat "$work/fix-login.md"
