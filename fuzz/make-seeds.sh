#!/usr/bin/env bash
# Rebuilds the seed corpora in fuzz/corpus/<target>/ from the project's golden files (tests/golden/**) and
# config.example.yaml. Seeds are small on purpose; libFuzzer grows its own working corpus from them.
# Stream seeds carry the 1 + N byte header the stream targets read (see src/lib.rs, StreamInput):
# a `.whole` copy (no cuts) and a `.split` copy (4 cuts, include_usage, keep-alives).
set -euo pipefail
FUZZ=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
G="$FUZZ/../tests/golden"
C="$FUZZ/corpus"

copy() { # target files...
    local t=$1; shift
    mkdir -p "$C/$t"
    for f in "$@"; do cp "$f" "$C/$t/$(basename "$(dirname "$f")").$(basename "$f")"; done
}
stream() { # target files...
    local t=$1; shift
    mkdir -p "$C/$t"
    for f in "$@"; do
        local name
        name="$(basename "$(dirname "$f")").$(basename "$f")"
        { printf '\x00'; cat "$f"; } >"$C/$t/$name.whole"
        # flags 0x34: 4 cuts, include_usage, keep-alive; chunk lengths 1, 17, 60, 255
        { printf '\x34\x01\x11\x3c\xff'; cat "$f"; } >"$C/$t/$name.split"
    done
}

copy request_anthropic "$G"/anthropic/request_*.json "$G"/anthropic/encode_openai_like.json
copy request_openai_chat "$G"/openai_chat/request_full*.json
copy request_openai_completions "$G"/openai_chat/completions_request.json
copy request_openai_responses "$G"/openai_responses/request.*.json
copy request_gemini "$G"/gemini/request_*.json

copy response_anthropic "$G"/anthropic/upstream_response_*.json "$G"/anthropic/response_encoded.json
copy response_openai_chat "$G"/openai_chat/upstream_response_*.json "$G"/openai_chat/client_response.json
copy response_openai_responses "$G"/openai_responses/response.*.json
copy response_gemini "$G"/gemini/upstream_response_*.json "$G"/gemini/response_client.json

stream stream_anthropic "$G"/anthropic/upstream_*.sse "$G"/anthropic/encode_thinking.sse
stream stream_openai_chat "$G"/openai_chat/upstream_stream_*.sse
stream stream_openai_responses "$G"/openai_responses/stream.*.sse
stream stream_gemini "$G"/gemini/upstream_stream_*.sse "$G"/gemini/client_stream.sse

copy json_body "$G"/anthropic/request_roundtrip.json "$G"/openai_chat/request_full.json \
    "$G"/openai_responses/request.sdk_full.json
printf '{"model":"m","stream":true,"x":{"a" : [1,2.50,"\\u00e9"]}}' >"$C/json_body/small.json"
printf '{"stream":false}' >"$C/json_body/no_model.json"

mkdir -p "$C/config"
cp "$FUZZ/../config.example.yaml" "$C/config/config.example.yaml"
cat >"$C/config/small.yaml" <<'YAML'
port: 8317
api-keys: ["os.environ/KEY", "literal"]
routing: { strategy: fill-first }
claude-api-key:
  - api-key: os.environ/ANTHROPIC
    base-url: https://api.anthropic.com/
    proxy-url: socks5://127.0.0.1:1080
    models: [{ name: claude-sonnet-4-5, alias: sonnet }]
openai-compatibility:
  - name: local
    base-url: http://127.0.0.1:11434/v1
    api-key-entries: [{ api-key: k, proxy-url: direct }]
    models: [{ name: llama3 }]
YAML
echo "seeds: $(find "$C" -type f | wc -l) files in $(find "$C" -mindepth 1 -maxdepth 1 -type d | wc -l) targets"
