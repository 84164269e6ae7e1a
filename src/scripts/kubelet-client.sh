#!/bin/sh
# kubelet-client.sh — installs a kubelet client certificate (certificate then key, one PEM on
# stdin) beside the kubelet's own as kubelet-client-kube-pki-<stamp>.pem, switches
# kubelet-client-current.pem to it atomically, restarts the kubelet and verifies: the kubelet
# is active, the link still points at this file, and the apiserver at --endpoint accepts the
# certificate (any answer but 401). On failure the link goes back to its old target, unless that
# one was unusable (missing, expired, not from --ca): then the new one stays and the report says so.
# After a verified switch, kube-pki's older files are pruned to the newest one before this.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: kubelet-client.sh [--root DIR] --strategy S --endpoint HOST:PORT --ca FILE [--timeout S] [--unit NAME|--container NAME] [--no-restart] < pem'
KP_OPTIONS='root= strategy= endpoint= ca= timeout= unit= container= no-restart'
KP_ARGS=''
opt_timeout=120
opt_strategy=systemd
parse_args "$@"
case $opt_strategy in *:*) usage_error "unknown strategy '$opt_strategy'" ;; esac
is_strategy "$opt_strategy" || usage_error "unknown strategy '$opt_strategy'"
opt_strategy=$(strategy_with_target "$opt_strategy") || exit 2
case $opt_endpoint in *:[0-9]*) ;; *) usage_error "--endpoint must be host:port, got '$opt_endpoint'" ;; esac
is_node_path "$opt_ca" || usage_error "--ca must be an absolute node path without blanks"

umask 077
set -f
node=$(uname -n)
take_lock

dir=/var/lib/kubelet/pki
link=$dir/kubelet-client-current.pem
mkdir -p "$(rp "$dir")"
stamp=$(date -u +%Y-%m-%d-%H-%M-%S)
new=$dir/kubelet-client-kube-pki-$stamp.pem
staged=$(mktemp "$(rp "$dir")/.kube-pki-new.XXXXXX")
trap 'rm -f "$staged" "$(rp "$link").kube-pki-tmp"' EXIT

refuse() {
    failure_report "check the certificate before installing it" "$1" \
        "nothing was changed: $link is as it was" \
        "run \`pulumi up\` again (the certificate is sent again); if this repeats, report it as a kube-pki bug"
    exit 1
}

# 1. Stage and check: parses, key matches, chains to the cluster CA for client auth, a node identity.
cat >"$staged"
openssl x509 -in "$staged" -noout 2>/dev/null || refuse "no certificate on stdin"
[ "$(openssl x509 -in "$staged" -noout -pubkey 2>/dev/null)" = "$(openssl pkey -in "$staged" -pubout 2>/dev/null)" ] ||
    refuse "the key on stdin does not belong to the certificate"
[ -f "$(rp "$opt_ca")" ] || refuse "no cluster CA at $opt_ca"
openssl verify -CAfile "$(rp "$opt_ca")" -purpose sslclient "$staged" >/dev/null 2>&1 ||
    refuse "the certificate does not chain to $opt_ca for client auth"
subject=$(openssl x509 -in "$staged" -noout -subject -nameopt RFC2253 2>/dev/null)
case $subject in *CN=system:node:*) ;; *) refuse "not a node identity ($subject)" ;; esac
fp=$(cert_fp "$staged")

# 2. What the link holds now, and whether going back to it would be any good.
old=''
if [ -L "$(rp "$link")" ]; then
    old=$(readlink "$(rp "$link")")
    case $old in /*) ;; *) old=$dir/$old ;; esac
elif [ -f "$(rp "$link")" ]; then
    # A plain file (not the kubelet's link): keep it under a name of its own to go back to.
    old=$dir/kubelet-client-replaced-$stamp.pem
    mv -f "$(rp "$link")" "$(rp "$old")"
fi
old_ok=0
old_why="there was no $link"
if [ -n "$old" ]; then
    if [ ! -f "$(rp "$old")" ]; then
        old_why="its target $old is missing"
    elif ! openssl x509 -in "$(rp "$old")" -noout -checkend 0 >/dev/null 2>&1; then
        old_why="$old has expired (or does not parse)"
    elif ! openssl verify -CAfile "$(rp "$opt_ca")" "$(rp "$old")" >/dev/null 2>&1; then
        old_why="$old is not signed by $opt_ca"
    else
        old_ok=1
    fi
fi

# 3. Install: the file first (0600, cert+key like the kubelet's), then the link by rename.
chmod 600 "$staged"
mv -f "$staged" "$(rp "$new")"
point_at() {
    rm -f "$(rp "$link").kube-pki-tmp"
    ln -s "$1" "$(rp "$link").kube-pki-tmp" && mv -fT "$(rp "$link").kube-pki-tmp" "$(rp "$link")"
}
point_at "$new" || refuse "cannot switch $link to $new"
log "installed $new sha256:$fp"
log "$link -> $new${old:+ (was $old)}"

if [ "$opt_no_restart" = 1 ]; then
    log "kubelet not restarted (--no-restart)"
    exit 0
fi

# 4. Restart and verify. The apiserver answers an HTTP request on the TLS connection; 401 means
# it refused the certificate. openssl gets paths only, never key material.
_api_code() {
    printf 'GET /api HTTP/1.0\r\nHost: %s\r\n\r\n' "${opt_endpoint%:*}" |
        run_bounded 5 openssl s_client -connect "$opt_endpoint" -cert "$(rp "$new")" -key "$(rp "$new")" \
            -CAfile "$(rp "$opt_ca")" -quiet 2>/dev/null | sed -n '1s/^HTTP\/[0-9.]* \([0-9][0-9][0-9]\).*$/\1/p'
}
_accepted() {
    KP_CODE=$(_api_code)
    [ -n "$KP_CODE" ] && [ "$KP_CODE" != 401 ]
}
KP_STEP="restart kubelet ($opt_strategy)"
KP_CODE=''
ok=0
if restart_component kubelet "$opt_strategy" "$opt_timeout"; then
    KP_STEP="verify the kubelet's client certificate"
    now_target=$(readlink "$(rp "$link")" || true)
    if [ "$now_target" != "$new" ]; then
        KP_REASON="$link points at ${now_target:-nothing}, not at $new"
    elif poll_until "$(deadline_in "$opt_timeout")" _accepted; then
        ok=1
    else
        if [ -n "$KP_CODE" ]; then KP_REASON="the apiserver at $opt_endpoint answered $KP_CODE to the new certificate"; else KP_REASON="the apiserver at $opt_endpoint did not answer within $opt_timeout s"; fi
    fi
fi
if [ "$ok" = 1 ]; then
    log "verified kubelet client certificate sha256:$fp: kubelet active, $link -> $new, apiserver $opt_endpoint answered $KP_CODE"
    # Prune kube-pki's own files to the new one and the newest before it (their stamps sort by
    # time); the kubelet's files are never touched.
    set +f
    older=''
    for f in "$(rp "$dir")"/kubelet-client-kube-pki-*.pem; do
        [ -f "$f" ] && [ "$dir/${f##*/}" != "$new" ] && older="$older ${f##*/}"
    done
    set -f
    keep=${older##* }
    for f in $older; do
        [ "$f" = "$keep" ] || [ "$dir/$f" = "$old" ] || { rm -f "$(rp "$dir")/$f" && log "removed $dir/$f (an older kube-pki certificate)"; }
    done
    exit 0
fi

what=$KP_REASON
step=$KP_STEP
state="state: $(component_state kubelet systemd)"
if [ "$old_ok" = 1 ] && point_at "$old"; then
    restart_component kubelet "$opt_strategy" "$opt_timeout" >/dev/null 2>&1 && back="restarted" || back="NOT active: $KP_REASON"
    failure_report "$step" "$what" \
        "rolled back: $link -> $old again (kubelet $back); $new left beside it" \
        "read why the kubelet or the apiserver refuses the new certificate ($(logs_hint kubelet systemd); the apiserver's log), fix the cause, then run \`pulumi up\` again" \
        "new: $new sha256:$fp" "$state"
    exit 1
fi
failure_report "$step" "$what" \
    "kept the new certificate: $link -> $new (not rolled back: $old_why, so going back would be worse)" \
    "read why the kubelet or the apiserver refuses the new certificate ($(logs_hint kubelet systemd); the apiserver's log), fix the cause, then run \`pulumi up\` again" \
    "new: $new sha256:$fp" "$state"
exit 1
