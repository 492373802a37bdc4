# meshvpn - profile for the shared netns benchmark harness (netns-bench.sh).
# Router mode over TUN, every node lists every other node as a peer, one shared password
# (identical to running VpnCloud with -p). The cipher is picked by the start-up speed test
# unless MESHVPN_ALGO forces one (aes128, aes256, chacha20).
# Binary: MESHVPN_BIN (default: meshvpn from PATH). MESHVPN_OFFLOAD=0 turns the TUN
# offloads off (see meshvpn-nooffload.sh, which does that under its own name).
#   MESHVPN_BIN=$PWD/meshvpn ../shared/bench/netns-bench.sh $PWD/tests/bench/meshvpn.sh
PROFILE_NAME=${PROFILE_NAME:-meshvpn} # the harness clears it before loading a profile
case $PROFILE_NAME in
*nooffload) MV_OFFLOAD=0 ;;
*) MV_OFFLOAD=${MESHVPN_OFFLOAD:-1} ;;
esac
: "${MESHVPN_BIN:=meshvpn}" "${MESHVPN_ALGO:=}"
PROFILE_CRYPTO=${MESHVPN_ALGO:-"fastest of AES128/AES256/CHACHA20 (start-up benchmark)"}
PROFILE_MTU=${MESHVPN_MTU:-$BENCH_TUN_MTU}
PROFILE_MAX_NODES=0
MESHVPN_PORT=3210

profile_check() {
	command -v "$MESHVPN_BIN" >/dev/null || { echo "meshvpn not found ($MESHVPN_BIN)" >&2; return 1; }
	"$MESHVPN_BIN" --version 2>&1 | head -n1
}

profile_setup() { # WORKDIR
	local w=$1 i j
	umask 077
	for ((i = 1; i <= NNODES; i++)); do
		{
			echo "device:"
			echo "  type: tun"
			echo "  name: mvb%d"
			echo "ip: $(bench_tun_ip "$i")/24"
			echo "listen: $(bench_ul_ip "$i"):$MESHVPN_PORT"
			echo "crypto:"
			echo "  password: bench-$BENCH_ID"
			[[ -n $MESHVPN_ALGO ]] && echo "  algorithms: [$MESHVPN_ALGO]"
			echo "mode: router"
			echo "port-forwarding: false"
			echo "peers:"
			for ((j = 1; j <= NNODES; j++)); do
				((j == i)) || echo "  - $(bench_ul_ip "$j"):$MESHVPN_PORT"
			done
		} >"$w/node$i.net"
	done
}

profile_start() { # NS INDEX WORKDIR
	local ns=$1 i=$2 w=$3 t
	bench_spawn "$ns" "$i" vpn "$BENCH_LOGDIR/node$i.log" \
		env MESHVPN_OFFLOAD="$MV_OFFLOAD" "$MESHVPN_BIN" --config "$w/node$i.net"
	# same payload per packet as every other profile: set the harness MTU once the device is up
	for ((t = 0; t < 50; t++)); do
		ip -n "$ns" link show mvb0 >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$ns" link set dev mvb0 mtu "$PROFILE_MTU"
}
