#!/usr/bin/env bash
# Printed by `make run` before the server starts.
cat <<'TXT'

Coffer is starting on http://127.0.0.1:8080 (state under ./var/). In another terminal:

  ./build/coffer tenant create acme --admin alice --password 'correct horse battery'
  TOKEN=$(curl -s -X POST http://127.0.0.1:8080/api/v1/auth/token \
            -H 'Content-Type: application/json' \
            -d '{"tenant":"acme","username":"alice","password":"correct horse battery"}' | jq -r .access_token)
  # or: TOKEN=$(./build/coffer token --tenant acme --user alice)
  curl -s -H "Authorization: Bearer $TOKEN" -F file=@README.md http://127.0.0.1:8080/api/v1/files/
  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/v1/files/

Stop it with Ctrl-C. See README.md for more.

TXT
