// AES-256 decryption (FIPS-197) and MD5 (RFC 1321) for reading Telegram Desktop `tdata` folders.
// libsodium has neither an AES block cipher (only AES-256-GCM on some CPUs) nor MD5, and the
// dependency rules keep OpenSSL out. Only decryption is implemented: SessionVault never writes tdata.
// The S-boxes are computed from their definition (multiplicative inverse in GF(2^8), then the affine
// map) instead of being typed in. Table lookups depend on secret bytes (cache timing); the input
// is a local file read once, offline, which SECURITY.md states.
#include "CTDataCrypto.h"

#include <string.h>

static void wipe(void *pointer, size_t length) {
    volatile uint8_t *bytes = (volatile uint8_t *)pointer;
    while (length--) *bytes++ = 0;
}

static uint8_t xtime(uint8_t x) { return (uint8_t)((x << 1) ^ ((x & 0x80) ? 0x1b : 0)); }

static uint8_t gmul(uint8_t a, uint8_t b) {
    uint8_t result = 0;
    while (b) {
        if (b & 1) result ^= a;
        a = xtime(a);
        b >>= 1;
    }
    return result;
}

static void make_sboxes(uint8_t sbox[256], uint8_t inverse[256]) {
    for (int x = 0; x < 256; x++) {
        // x^254 is the multiplicative inverse (0 for 0).
        uint8_t value = 1, base = (uint8_t)x;
        for (int e = 254; e; e >>= 1) {
            if (e & 1) value = gmul(value, base);
            base = gmul(base, base);
        }
        if (x == 0) value = 0;
        uint8_t s = value;
        for (int shift = 1; shift <= 4; shift++) s ^= (uint8_t)((value << shift) | (value >> (8 - shift)));
        s ^= 0x63;
        sbox[x] = s;
        inverse[s] = (uint8_t)x;
    }
}

static void expand_key(const uint8_t key[32], const uint8_t sbox[256], uint8_t round_keys[240]) {
    memcpy(round_keys, key, 32);
    uint8_t rcon = 1;
    for (int i = 8; i < 60; i++) {
        uint8_t t[4];
        memcpy(t, round_keys + 4 * (i - 1), 4);
        if (i % 8 == 0) {
            uint8_t first = t[0];
            t[0] = (uint8_t)(sbox[t[1]] ^ rcon);
            t[1] = sbox[t[2]];
            t[2] = sbox[t[3]];
            t[3] = sbox[first];
            rcon = xtime(rcon);
        } else if (i % 8 == 4) {
            for (int j = 0; j < 4; j++) t[j] = sbox[t[j]];
        }
        for (int j = 0; j < 4; j++) round_keys[4 * i + j] = (uint8_t)(round_keys[4 * (i - 8) + j] ^ t[j]);
        wipe(t, sizeof t);
    }
}

static void decrypt_block(const uint8_t round_keys[240], const uint8_t inverse[256], const uint8_t input[16], uint8_t output[16]) {
    uint8_t state[16], tmp[16];
    for (int i = 0; i < 16; i++) state[i] = (uint8_t)(input[i] ^ round_keys[224 + i]);
    for (int round = 13; round >= 0; round--) {
        // InvShiftRows (state is column-major: byte r + 4c) then InvSubBytes.
        for (int c = 0; c < 4; c++)
            for (int r = 0; r < 4; r++) tmp[r + 4 * ((c + r) % 4)] = state[r + 4 * c];
        for (int i = 0; i < 16; i++) state[i] = (uint8_t)(inverse[tmp[i]] ^ round_keys[16 * round + i]);
        if (round == 0) break;
        for (int c = 0; c < 4; c++) {  // InvMixColumns
            uint8_t *col = state + 4 * c;
            uint8_t a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3];
            col[0] = (uint8_t)(gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9));
            col[1] = (uint8_t)(gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13));
            col[2] = (uint8_t)(gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11));
            col[3] = (uint8_t)(gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14));
        }
    }
    memcpy(output, state, 16);
    wipe(state, sizeof state);
    wipe(tmp, sizeof tmp);
}

void sv_aes256_decrypt_block(const uint8_t key[32], const uint8_t input[16], uint8_t output[16]) {
    uint8_t sbox[256], inverse[256], round_keys[240];
    make_sboxes(sbox, inverse);
    expand_key(key, sbox, round_keys);
    decrypt_block(round_keys, inverse, input, output);
    wipe(round_keys, sizeof round_keys);
}

int sv_aes256_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], uint8_t *data, size_t length) {
    if (length % 16 != 0) return -1;
    uint8_t sbox[256], inverse[256], round_keys[240];
    uint8_t previous_cipher[16], previous_plain[16], cipher[16], block[16];
    make_sboxes(sbox, inverse);
    expand_key(key, sbox, round_keys);
    memcpy(previous_cipher, iv, 16);
    memcpy(previous_plain, iv + 16, 16);
    for (size_t offset = 0; offset < length; offset += 16) {
        memcpy(cipher, data + offset, 16);
        for (int i = 0; i < 16; i++) block[i] = (uint8_t)(cipher[i] ^ previous_plain[i]);
        decrypt_block(round_keys, inverse, block, block);
        for (int i = 0; i < 16; i++) data[offset + i] = (uint8_t)(block[i] ^ previous_cipher[i]);
        memcpy(previous_cipher, cipher, 16);
        memcpy(previous_plain, data + offset, 16);
    }
    wipe(round_keys, sizeof round_keys);
    wipe(previous_plain, sizeof previous_plain);
    wipe(block, sizeof block);
    return 0;
}

// ---------------------------------------------------------------- MD5 (RFC 1321)

static uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

static void md5_block(uint32_t h[4], const uint8_t block[64]) {
    static const uint32_t k[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
    static const int r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 | (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) { f = (b & c) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
        else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
        else { f = c ^ (b | ~d); g = (7 * i) % 16; }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rotl(a + f + k[i] + w[g], r[i]);
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

void sv_md5(const uint8_t *data, size_t length, uint8_t digest[16]) {
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    size_t offset = 0;
    for (; offset + 64 <= length; offset += 64) md5_block(h, data + offset);
    uint8_t tail[128] = {0};
    size_t rest = length - offset;
    if (rest) memcpy(tail, data + offset, rest);
    tail[rest] = 0x80;
    size_t total = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)length * 8;
    for (int i = 0; i < 8; i++) tail[total - 8 + i] = (uint8_t)(bits >> (8 * i));
    md5_block(h, tail);
    if (total == 128) md5_block(h, tail + 64);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) digest[4 * i + j] = (uint8_t)(h[i] >> (8 * j));
}
