/* SPDX-License-Identifier: GPL-3.0-or-later */
/* crypto_vectors.h - PROTOCOL.md Appendix A vectors (A.1-A.4) as hex strings. */
#ifndef CRYPTO_VECTORS_H
#define CRYPTO_VECTORS_H

/* A.1: identity of the password "test" */
#define V_SEED "67d20409c97fb9cc56119343f183c0047b47f22251a8a04bd8936ad85bb8e24d"
#define V_PUBKEY "6b36b29a19d4408c1aa5f8c146c15f1b91d1ede28ace5aec7387b7954c7c7ab3"
#define V_KEYHASH_SALT "a1a2a3a4"
#define V_KEYHASH "f15840c7"

/* A.2 */
#define V_NODE_A "000102030405060708090a0b0c0d0e0f"
#define V_SALT_A "01020304"
#define V_HASH_A "010203048ea953ef9232e279cf791135712f176c"
#define V_NODE_B "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
#define V_SALT_B "05060708"
#define V_HASH_B "050607087b19f0caeda41812d189d92e319e9357"

/* A.3 */
#define V_PRIV_A "1111111111111111111111111111111111111111111111111111111111111111"
#define V_PUB_A "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13"
#define V_PRIV_B "2222222222222222222222222222222222222222222222222222222222222222"
#define V_PUB_B "0faa684ed28867b97f4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f20"
#define V_SHARED "9e004098efc091d4ec2663b4e9f5cfd4d7064571690b4bea97ab146ab9f35056"

/* A.4 */
#define V_PING_SALT "a1a2a3a4"
#define V_PONG_SALT "b1b2b3b4"
#define V_PENG_SALT "c1c2c3c4"
#define V_NONCE_B "b0b1b2b3b4b5"
#define V_NONCE_A "a0a1a2a3a4a5"
#define V_NODEINFO_B                                                                       \
	"040010f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff010000020006040a00020018030002012c050013080000" \
	"0000000000000000ffffc00002020c8a00"
#define V_NODEINFO_A                                                                       \
	"040010000102030405060708090a0b0c0d0e0f010000020006040a00010018030002012c050013080000" \
	"0000000000000000ffffc00002010c8a00"
#define V_PING                                                                               \
	"ffa1a2a3a4f15840c701000101020014010203048ea953ef9232e279cf791135712f176c0300207b4e909bbe7ffe44c4" \
	"65a220037d608ee35897d31ef972f07f74892cb0f73f1304000f01447a0000024448000003441600000040a6133248c4" \
	"27bd19e62ff80cdc9ede697642cf322a695ab5cb0e019401edc7c18392fbc9303f924eafbf62336b41eee23049aca533" \
	"911f212257f3b4dcef780b"
#define V_PONG_PAYLOAD                                                                       \
	"0000b0b1b2b3b4b682c887924926a737baf09474fad858bbf77e38359c9d1339cb1a2c528b9c97c0b3086ed8193ee3e5" \
	"22203fa9da7cf5b95ee123da19e78b86ef9e45c23d86f667010f54dde3ef7bd514bc67"
#define V_PONG                                                                               \
	"ffb1b2b3b41fbf43ee01000102020014050607087b19f0caeda41812d189d92e319e93570300200faa684ed28867b97f" \
	"4a6a2dee5df8ce974e76b7018e3f22a1c4cf2678570f2004000a0143fa000003446100000500530000b0b1b2b3b4b682" \
	"c887924926a737baf09474fad858bbf77e38359c9d1339cb1a2c528b9c97c0b3086ed8193ee3e522203fa9da7cf5b95e" \
	"e123da19e78b86ef9e45c23d86f667010f54dde3ef7bd514bc67004077d464b452ef4ef55571f1777637e7b84f16b9fe" \
	"5c8dd32af42481bfde309047504758275117f2a2fb4160d6e48e81e224943636a7b90eb70ddca3b992bb030d"
#define V_PENG                                                                               \
	"ffc1c2c3c41999715a01000103020014010203048ea953ef9232e279cf791135712f176c0500530000a0a1a2a3a4a679" \
	"a4a6861facfd310b75a9c67f95fa13c58f93c21f9df3081681967a0dddd144aa8d24d550decccbc320587a9e2e1683bd" \
	"82d2e0f908d749500d66ac0eda37f0fdc8d8f95a3a6e9fe322c40040773fa71e449a91391f935967fda538d1f158c275" \
	"3acd062a3acd65c7bfef67537aba307bd2f57e561c4201471142a10b0d53dcf7dd4457c456714eac883bbd09"
#define V_DATA_INNER "00 4500001c000000004011000a0a0001010a000201"
#define V_DATA                                                                               \
	"0000a0a1a2a3a4a70f75dfa9c6fbbffb05df5c2ae33608b0fb2cc9e3bc2e1db338b0046f02d0f894f830761f39"
#define V_PRIV_ROT_B "3333333333333333333333333333333333333333333333333333333333333333"
#define V_ROT_BODY "0000000000000001 20 7b0d47d93427f8311160781c7c733fd89f88970aef490d8aa0ee19a4cb8a1b14 00"
#define V_ROT_WIRE                                                                           \
	"0000b0b1b2b3b4b7bd162b98c3d230de88c69997dbcf122e516358229ee3ee3ac4853bd48e3be1ba00168e"         \
	"20d90a9fa02be06f22d6bae9b85461af8c47b0271bbdc34a"

#endif
