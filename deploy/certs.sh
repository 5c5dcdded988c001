#!/usr/bin/env bash
# certs.sh: a private PKI for an ssprflow deployment (bash + openssl only).
#
#   deploy/certs.sh --out DIR [--days N] [--nats-san LIST] [--temporal-san LIST]
#                   [--operators LIST] [--approvers LIST]
#
# Three CAs, so that a certificate opens only the door it is for:
#   ca/server-ca           signs the servers: NATS, the Temporal frontend and internode
#   ca/temporal-client-ca  signs Temporal's clients: worker, writeback agent, UI, operators
#   ca/nats-client-ca      signs NATS's clients: worker, operators, approvers
# An approver's NATS certificate therefore cannot reach Temporal, and the writeback
# agent's certificate (Temporal, client use only) cannot reach NATS.
#
# One directory per component holds only what it mounts (the CA keys stay in ca/):
#   nats/         server.pem server-key.pem client-ca.pem
#   temporal/     frontend.pem frontend-key.pem internode.pem internode-key.pem
#                 server-ca.pem client-ca.pem
#   temporal-ui/  ca.pem temporal.pem temporal-key.pem
#   worker/       ca.pem temporal.pem temporal-key.pem nats.pem nats-key.pem
#   agent/        ca.pem temporal.pem temporal-key.pem
#   people/ID/    ca.pem nats.pem nats-key.pem [temporal.pem temporal-key.pem: operators]
# ca.pem / server-ca.pem is what a client verifies servers with.
#
# Idempotent: a certificate that exists, verifies against its CA, still has the
# names asked for and is valid for 30 more days is kept; otherwise it is issued
# again. Keys are 0600, directories 0700. Run it again to add people.
set -euo pipefail

out="" days=397 nats_san="" temporal_san="" operators="operator" approvers=""
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=${2:?}; shift 2 ;;
	--days) days=${2:?}; shift 2 ;;
	--nats-san) nats_san=${2:?}; shift 2 ;;
	--temporal-san) temporal_san=${2:?}; shift 2 ;;
	--operators) operators=${2-}; shift 2 ;;
	--approvers) approvers=${2-}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "certs.sh: unknown argument $1" >&2; usage ;;
	esac
done
[ -n "$out" ] || { echo "certs.sh: --out DIR is required" >&2; usage; }
case "$days" in '' | *[!0-9]*) echo "certs.sh: --days wants a number" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "certs.sh: openssl not found" >&2; exit 1; }

umask 077
mkdir -p "$out"
chmod 0700 "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# sans "DNS:a,IP:1.2.3.4" LIST: LIST's names appended (an IPv4/IPv6 literal as IP:).
sans() {
	local s=$1 n
	IFS=',' read -r -a extra <<<"$2"
	for n in "${extra[@]}"; do
		[ -n "$n" ] || continue
		case "$n" in
		*[!0-9.]* | '') case "$n" in *:*) s="$s,IP:$n" ;; *) s="$s,DNS:$n" ;; esac ;;
		*) s="$s,IP:$n" ;;
		esac
	done
	printf '%s' "$s"
}

# An ID becomes a certificate's CN and, with verify_and_map, a NATS user: keep it plain.
check_id() {
	case "$1" in
	'' | *[!A-Za-z0-9_-]*) echo "certs.sh: person id \"$1\": use letters, digits, - and _" >&2; exit 2 ;;
	esac
}

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 0600 "$1"; }

# ca NAME CN: a self-signed CA that may sign only end-entity certificates.
ca() {
	local key="$out/ca/$1-key.pem" crt="$out/ca/$1.pem"
	mkdir -p "$out/ca"
	if [ -s "$key" ] && [ -s "$crt" ] && openssl x509 -in "$crt" -noout -checkend 2592000 >/dev/null; then
		return
	fi
	newkey "$key"
	cat >"$tmp/ca.cnf" <<-EOF
		[req]
		distinguished_name = dn
		prompt = no
		[dn]
		O = ssprflow
		CN = $2
		[v3]
		basicConstraints = critical, CA:TRUE, pathlen:0
		keyUsage = critical, keyCertSign, cRLSign
		subjectKeyIdentifier = hash
	EOF
	# A CA outlives its leaves: ten times their validity.
	openssl req -new -x509 -config "$tmp/ca.cnf" -extensions v3 -key "$key" -sha256 \
		-days $((days * 10)) -out "$crt"
	chmod 0644 "$crt"
	echo "issued $crt"
}

# leaf CA DIR NAME CN EKU SAN: DIR/NAME.pem and DIR/NAME-key.pem signed by CA.
# EKU is serverAuth, clientAuth or "serverAuth, clientAuth"; SAN may be empty.
leaf() {
	local cakey="$out/ca/$1-key.pem" cacrt="$out/ca/$1.pem" dir="$out/$2" name=$3 cn=$4 eku=$5 san=$6
	local key="$dir/$name-key.pem" crt="$dir/$name.pem"
	mkdir -p "$dir"
	chmod 0700 "$dir"
	if [ -s "$key" ] && [ -s "$crt" ] && keep "$cacrt" "$crt" "$key" "$san"; then
		return
	fi
	newkey "$key"
	{
		echo "basicConstraints = critical, CA:FALSE"
		echo "keyUsage = critical, digitalSignature"
		echo "extendedKeyUsage = $eku"
		echo "subjectKeyIdentifier = hash"
		echo "authorityKeyIdentifier = keyid"
		[ -z "$san" ] || echo "subjectAltName = $san"
	} >"$tmp/leaf.ext"
	openssl req -new -key "$key" -subj "/O=ssprflow/CN=$cn" -out "$tmp/leaf.csr" 2>/dev/null
	openssl x509 -req -in "$tmp/leaf.csr" -CA "$cacrt" -CAkey "$cakey" -CAcreateserial \
		-CAserial "$out/ca/$1.srl" -days "$days" -sha256 -extfile "$tmp/leaf.ext" -out "$crt" 2>/dev/null
	chmod 0644 "$crt"
	echo "issued $crt"
}

# keep CA CRT KEY SAN: the certificate is still good and is the key's.
keep() {
	openssl verify -CAfile "$1" "$2" >/dev/null 2>&1 || return 1
	openssl x509 -in "$2" -noout -checkend 2592000 >/dev/null || return 1
	[ "$(openssl x509 -in "$2" -noout -pubkey)" = "$(openssl pkey -in "$3" -pubout)" ] || return 1
	local have want
	have=$(openssl x509 -in "$2" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' \n' |
		sed 's/IPAddress:/IP:/g' | tr ',' '\n' | sort | tr '\n' ',')
	want=$(printf '%s' "$4" | tr -d ' ' | tr ',' '\n' | sort | tr '\n' ',')
	[ "$have" = "$want" ]
}

# copy CA DIR NAME: the public CA certificate into a component's directory.
copy() { install -m 0644 "$out/ca/$1.pem" "$out/$2/$3"; }

ca server-ca "ssprflow server CA"
ca temporal-client-ca "ssprflow Temporal client CA"
ca nats-client-ca "ssprflow NATS client CA"

# Servers. "nats" and "temporal" are the compose service names; add the names
# clients outside compose use with --nats-san / --temporal-san.
leaf server-ca nats server nats-server serverAuth "$(sans DNS:nats,DNS:localhost,IP:127.0.0.1 "$nats_san")"
copy nats-client-ca nats client-ca.pem
leaf server-ca temporal frontend temporal-frontend serverAuth \
	"$(sans DNS:temporal,DNS:localhost,IP:127.0.0.1 "$temporal_san")"
# Internode: presented by each Temporal service to the others, and by the
# system worker to the frontend, so both uses, under one fixed name.
leaf server-ca temporal internode temporal-internode "serverAuth, clientAuth" DNS:temporal-internode
copy server-ca temporal server-ca.pem
copy temporal-client-ca temporal client-ca.pem

# Clients: client use only, no names to serve. The CN is the identity (and the
# NATS user name, should nats.conf move to verify_and_map).
leaf temporal-client-ca temporal-ui temporal temporal-ui clientAuth ""
copy server-ca temporal-ui ca.pem
leaf temporal-client-ca worker temporal ssprflow-worker clientAuth ""
leaf nats-client-ca worker nats ssprflow-worker clientAuth ""
copy server-ca worker ca.pem
leaf temporal-client-ca agent temporal ssprflow-writeback-agent clientAuth ""
copy server-ca agent ca.pem

IFS=',' read -r -a ops <<<"$operators"
IFS=',' read -r -a aps <<<"$approvers"
for id in "${ops[@]}" "${aps[@]}"; do
	[ -n "$id" ] || continue
	check_id "$id"
	leaf nats-client-ca "people/$id" nats "$id" clientAuth ""
	copy server-ca "people/$id" ca.pem
done
# Operators also read rollouts from Temporal (rollout status, list).
for id in "${ops[@]}"; do
	[ -n "$id" ] || continue
	leaf temporal-client-ca "people/$id" temporal "$id" clientAuth ""
done
