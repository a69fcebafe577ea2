#ifndef CTDATACRYPTO_H
#define CTDATACRYPTO_H

#include <stddef.h>
#include <stdint.h>

/// AES-256 decryption of one 16-byte block (FIPS-197 InvCipher). Used by tdata import only; checked
/// against the FIPS-197 appendix C.3 known answer. Round keys live on the stack and are wiped.
void sv_aes256_decrypt_block(const uint8_t key[32], const uint8_t input[16], uint8_t output[16]);

/// AES-256-IGE decryption in place, as Telegram uses it: `iv` is 32 bytes (the previous ciphertext
/// block, then the previous plaintext block). Returns 0, or -1 when `length` is not a multiple of 16.
int sv_aes256_ige_decrypt(const uint8_t key[32], const uint8_t iv[32], uint8_t *data, size_t length);

/// MD5 (RFC 1321) of `length` bytes: tdata's file checksum and file names only, never a secret's
/// protection. Checked against the RFC 1321 test suite.
void sv_md5(const uint8_t *data, size_t length, uint8_t digest[16]);

#endif
