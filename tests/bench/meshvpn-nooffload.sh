# meshvpn-nooffload - the meshvpn profile with TUN offloads switched off (MESHVPN_OFFLOAD=0):
# one read/write per packet on the device, sendmmsg/recvmmsg batches on the socket. For
# measuring what the offloads bring, in the same run as meshvpn.sh.
PROFILE_NAME=meshvpn-nooffload
. "$(dirname "${BASH_SOURCE[0]}")/meshvpn.sh"
