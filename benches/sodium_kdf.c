/* Argon2id through libsodium, the reference for benches/perf.sh: MEMORY_KIB PASSES (libsodium
 * always uses one lane). Prints two bytes of the tag so the work cannot be optimised away. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3 || sodium_init() < 0) return 2;
    unsigned long long passes = strtoull(argv[2], 0, 10);
    size_t memory = (size_t)strtoull(argv[1], 0, 10) * 1024;
    unsigned char out[32], salt[crypto_pwhash_SALTBYTES] = {1};
    if (crypto_pwhash(out, sizeof out, "bench", 5, salt, passes, memory,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) return 1;
    printf("%02x%02x\n", out[0], out[1]);
    return 0;
}
