#!/bin/sh
# signing-file.sh — during a cluster CA rotation, point kube-controller-manager's
# --cluster-signing-cert-file at a file holding ONE certificate (point), and back at the cluster
# CA file when that holds one again (unpoint). The rotation puts two CAs in ca.crt, and
# kube-controller-manager refuses a signing file with more than one certificate
# ("expected 1 certificate, found 2": pkg/controller/certificates/signer/ca_provider.go, setCA).
#   point    SIGNING must hold one certificate whose key is CA-KEY; when it does not (the first
#            run), it gets the first certificate of CA-CERT if that one is CA-KEY's (kube-pki keeps
#            the signing CA first). Then the manifest's flag is changed to SIGNING.
#   unpoint  only when CA-CERT holds exactly one certificate, of CA-KEY: the flag goes back to CA-CERT.
# The manifest must name CA-KEY in --cluster-signing-key-file and CA-CERT or SIGNING in
# --cluster-signing-cert-file, once each; anything else is the operator's own signer: left alone, failure.
# The edited manifest is staged outside the manifests dir (the kubelet runs every file in it),
# checked (exactly that one line differs), the old one backed up (0700 dir), then renamed in: the
# kubelet restarts the pod. Not running again within --timeout, or gone 3 s later: the old
# manifest goes back, the script waits for that one and fails, saying so.
set -eu
. "$(dirname -- "$0")/lib.sh" # @kube-pki-lib

KP_USAGE='usage: signing-file.sh [--root DIR] [--manifests DIR] [--backup-dir DIR] [--timeout S] --ca-cert FILE --ca-key FILE --signing FILE point|unpoint'
KP_OPTIONS='root= manifests= backup-dir= timeout= ca-cert= ca-key= signing='
KP_ARGS='action'
opt_manifests=/etc/kubernetes/manifests
opt_timeout=120
parse_args "$@"
case $action in
    point | unpoint) ;;
    *) usage_error "action must be point or unpoint, got '${action:-nothing}'" ;;
esac
for p in "$opt_manifests" "$opt_ca_cert" "$opt_ca_key" "$opt_signing"; do
    is_node_path "$p" || usage_error "'$p' must be an absolute node path without blanks (--ca-cert, --ca-key and --signing are required)"
done

umask 077
set -f
take_lock
C=kube-controller-manager
manifest_node=${opt_manifests%/}/$C.yaml
manifest=$(rp "$manifest_node")
ca_cert=$(rp "$opt_ca_cert")
ca_key=$(rp "$opt_ca_key")
signing=$(rp "$opt_signing")
CERT_FLAG=--cluster-signing-cert-file
KEY_FLAG=--cluster-signing-key-file

fail() {
    failure_report "$1" "$2" "$3" "$4"
    exit 1
}

[ -f "$manifest" ] || fail "read the $C manifest" "no static pod manifest $manifest_node" \
    "nothing changed" "restore the manifest (kube-pki restores it from its copy when one exists), then run \`pulumi up\` again"

# flag_values FLAG FILE: every value of "- FLAG=VALUE" list items in a manifest, one per line.
flag_values() {
    sed -n "s/^[[:space:]]*-[[:space:]]*$1=\\([^[:space:]]*\\)[[:space:]]*\$/\\1/p" "$2"
}
cert_values=$(flag_values "$CERT_FLAG" "$manifest")
key_values=$(flag_values "$KEY_FLAG" "$manifest")
[ "$key_values" = "$opt_ca_key" ] || fail "read $C's signing flags" \
    "$manifest_node names $KEY_FLAG '$(printf '%s' "$key_values" | tr '\n' ' ')'; kube-pki needs it once, as $opt_ca_key" \
    "nothing changed" "kube-pki rotates the cluster CA only for a controller-manager that signs with the CA key it manages; set $KEY_FLAG=$opt_ca_key in the manifest, or remove kube-pki:authorities.rotate.ca"
case $cert_values in
    "$opt_ca_cert" | "$opt_signing") ;;
    *) fail "read $C's signing flags" \
        "$manifest_node names $CERT_FLAG '$(printf '%s' "$cert_values" | tr '\n' ' ')'; kube-pki needs it once, as $opt_ca_cert or $opt_signing" \
        "nothing changed" "set $CERT_FLAG=$opt_ca_cert in the manifest (one line, no quotes), then run \`pulumi up\` again" ;;
esac

# Public key of a key file, of a certificate on stdin (DER, hex): compared, never printed.
key_pub() { openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
cert_pub_stdin() { openssl x509 -noout -pubkey 2>/dev/null | openssl pkey -pubin -outform DER 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
count_certs() { grep -c -- '-----BEGIN CERTIFICATE-----' "$1" 2>/dev/null || true; }
first_cert() { awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1 { print } n == 1 && /-----END CERTIFICATE-----/ { exit }' "$1"; }

[ -f "$ca_key" ] || fail "read the cluster CA" "no $opt_ca_key" "nothing changed" "run \`pulumi up\` again: the install puts the CA key back"
key_pk=$(key_pub "$ca_key")
[ -n "$key_pk" ] || fail "read the cluster CA" "$opt_ca_key is not a readable private key" "nothing changed" "check the file; run \`pulumi up\` again"
# one_cert_of_key FILE: FILE holds exactly one certificate, of CA-KEY.
one_cert_of_key() {
    [ -f "$1" ] && [ "$(count_certs "$1")" = 1 ] && [ "$(cert_pub_stdin <"$1")" = "$key_pk" ]
}

if [ "$action" = point ]; then
    target=$opt_signing
    if ! one_cert_of_key "$signing"; then
        [ "$(first_cert "$ca_cert" | cert_pub_stdin)" = "$key_pk" ] || fail "write $opt_signing" \
            "the first certificate of $opt_ca_cert is not the certificate of $opt_ca_key" \
            "nothing changed" "run \`pulumi up\` again: the install writes the CA files as the rotation phase declares them"
        mkdir -p "$(dirname -- "$signing")"
        rm -f "$signing.kube-pki-new"
        first_cert "$ca_cert" >"$signing.kube-pki-new" && chmod 644 "$signing.kube-pki-new" &&
            one_cert_of_key "$signing.kube-pki-new" && mv -f "$signing.kube-pki-new" "$signing" || {
            rm -f "$signing.kube-pki-new"
            fail "write $opt_signing" "cannot write $opt_signing (disk full or read-only?)" "nothing changed" "free space on the node, then run \`pulumi up\` again"
        }
        log "wrote $opt_signing: the first certificate of $opt_ca_cert sha256:$(cert_fp "$signing")"
    fi
else
    target=$opt_ca_cert
    one_cert_of_key "$ca_cert" || fail "point $C back at $opt_ca_cert" \
        "$opt_ca_cert holds $(count_certs "$ca_cert") certificate(s), not exactly one of $opt_ca_key" \
        "$C still signs with $opt_signing" "run \`pulumi up\` again once the rotation's last phase installed $opt_ca_cert"
fi

if [ "$cert_values" = "$target" ]; then
    log "$C already signs with $target ($CERT_FLAG in $manifest_node); nothing changed"
    exit 0
fi

# Stage beside the manifests dir (same filesystem: the rename is atomic), never inside it.
staged=$(dirname -- "$manifest")/.kube-pki-$C.yaml.new
rm -f "$staged"
sed "s|^\\([[:space:]]*-[[:space:]]*\\)$CERT_FLAG=[^[:space:]]*\\([[:space:]]*\\)\$|\\1$CERT_FLAG=$target\\2|" "$manifest" >"$staged" || {
    rm -f "$staged"
    fail "stage the $C manifest" "cannot write $staged (disk full or read-only?)" "nothing changed" "free space on the node, then run \`pulumi up\` again"
}
changed=$(awk 'NR == FNR { a[FNR] = $0; n = FNR; next } { m = FNR; if (a[FNR] != $0) d++ } END { print (n == m ? d + 0 : -1) }' "$manifest" "$staged")
[ "$changed" = 1 ] && [ "$(flag_values "$CERT_FLAG" "$staged")" = "$target" ] || {
    rm -f "$staged"
    fail "stage the $C manifest" "the edited manifest differs in $changed lines, not exactly the $CERT_FLAG line" "nothing changed" "set $CERT_FLAG=$target in $manifest_node by hand"
}

backups=$(backup_base)/manifests
mkdir -p "$backups"
chmod 700 "$backups" "$(backup_base)"
backup=$backups/$C.yaml.$(date -u +%Y%m%dT%H%M%SZ).$$
cp -p "$manifest" "$backup" || {
    rm -f "$staged"
    fail "back up the $C manifest" "cannot copy it to $backup" "nothing changed" "free space on the node, then run \`pulumi up\` again"
}
backup_node=$KP_BACKUP_DIR/manifests/${backup##*/}

_rc_name=$C
_rc_old=$(running_id "$C")
# Gone again (exited, or replaced by a restart loop) within 3 s of starting: it did not take the flag.
_gone() { [ "$(running_id "$C")" != "$_rc_now" ]; }
mv -f "$staged" "$manifest"
log "$C: $CERT_FLAG=$target in $manifest_node (was $cert_values; old manifest in $backup_node)"
if poll_until "$(deadline_in "$opt_timeout")" _new_running && ! poll_until "$(deadline_in 3)" _gone; then
    log "$C runs again (container ${_rc_old:-none} -> $_rc_now), signing with $target"
    exit 0
fi

# Not back: put the old manifest back (it ran before) and wait for that one.
state=$(running_id "$C")
cp -p "$backup" "$staged" && mv -f "$staged" "$manifest"
_rc_old=$state
if poll_until "$(deadline_in "$opt_timeout")" _new_running; then now="$C runs again on the old manifest (signing with $cert_values)"; else now="$C is not running; its manifest is the old one again"; fi
failure_report "point $C at $target" "$C did not run for 3 s within $opt_timeout s after $CERT_FLAG=$target" \
    "manifest: put back from $backup_node" "$now" \
    "read its logs (crictl logs \$(crictl ps -a --name $C -q | head -n 1)); check $opt_signing holds one certificate of $opt_ca_key; run \`pulumi up\` again"
exit 1
