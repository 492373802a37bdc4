# meshvpn-ws - the meshvpn profile with node 1 behind the WebSocket proxy: node 2's namespace
# also runs `meshvpn ws-proxy` (TCP 3210), node 1 listens on ws://NODE2:3210/ and reaches
# node 2's UDP port through it. Measures the TCP transport (framing, batching, the proxy)
# in the same run as meshvpn.sh. Two nodes only.
PROFILE_NAME=meshvpn-ws
. "$(dirname "${BASH_SOURCE[0]}")/meshvpn.sh"
PROFILE_MAX_NODES=2
PROFILE_CRYPTO="$PROFILE_CRYPTO; node 1 over the WebSocket proxy on node 2"

profile_setup() { # WORKDIR
	local w=$1 i
	umask 077
	for ((i = 1; i <= 2; i++)); do
		{
			echo "device:"
			echo "  type: tun"
			echo "  name: mvb%d"
			echo "ip: $(bench_tun_ip "$i")/24"
			if ((i == 1)); then
				echo "listen: ws://$(bench_ul_ip 2):$MESHVPN_PORT/"
				echo "peers:"
				echo "  - $(bench_ul_ip 2):$MESHVPN_PORT"
			else
				echo "listen: $(bench_ul_ip 2):$MESHVPN_PORT"
			fi
			echo "crypto:"
			echo "  password: bench-$BENCH_ID"
			[[ -n $MESHVPN_ALGO ]] && echo "  algorithms: [$MESHVPN_ALGO]"
			echo "mode: router"
			echo "port-forwarding: false"
		} >"$w/node$i.net"
	done
}

_mv_start_node() { profile_start "$@"; }
eval "$(declare -f profile_start | sed '1s/profile_start/_mv_start_node/')"
profile_start() { # NS INDEX WORKDIR
	local ns=$1 i=$2
	if ((i == 2)); then
		bench_spawn "$ns" "$i" vpn "$BENCH_LOGDIR/proxy.log" \
			"$MESHVPN_BIN" ws-proxy -l "$(bench_ul_ip 2):$MESHVPN_PORT" --public-ip "$(bench_ul_ip 2)"
	fi
	_mv_start_node "$@"
}
