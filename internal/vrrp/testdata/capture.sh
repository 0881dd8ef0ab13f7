#!/bin/sh
# Regenerates golden.txt: runs Debian's keepalived in a network namespace with
# capture.conf and records the VRRP packets it sends (adverts, then the
# priority-0 adverts of a clean stop). Needs root. Uses 198.18.0.0/15 and
# link-local addresses only, inside namespaces it creates and deletes.
set -eu
cd "$(dirname "$0")"
A=vrrpgold-a-$$ B=vrrpgold-b-$$ T=$(mktemp -d)
cleanup() {
    [ -f "$T/pid" ] && kill "$(cat "$T/pid")" 2>/dev/null || true
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add veth0 netns "$A" type veth peer name veth1 netns "$B"
ip -n "$A" link set lo up; ip -n "$B" link set lo up
ip -n "$A" addr add 198.18.0.1/24 dev veth0
ip -n "$B" addr add 198.18.0.2/24 dev veth1
ip -n "$A" link set veth0 up; ip -n "$B" link set veth1 up
ip netns exec "$B" python3 sniff.py veth1 9 > "$T/out" &
SNIFF=$!
sleep 0.5
ip netns exec "$A" keepalived -n -l -D -P -f "$PWD/capture.conf" -p "$T/pid" -r "$T/vrrp.pid" > "$T/log" 2>&1 &
KA=$!
sleep 7
kill -TERM "$KA"
wait "$KA" || true
wait "$SNIFF"
{
    echo "# VRRP packets (IP header included) sent by keepalived $(keepalived -v 2>&1 | head -1 | cut -d' ' -f2) with capture.conf."
    echo "# The last ones are the priority-0 adverts of a clean stop."
    cat "$T/out"
} > golden.txt
echo "keepalived log:" >&2
cat "$T/log" >&2
