/* Memory bandwidth of the access Argon2 makes most (read two blocks, write one), for the bound
 * in docs/PERFORMANCE.md: THREADS threads each stream over their own two buffers of MIB MiB,
 * REPS times. Usage: cc -O2 -pthread -o membw benches/membw.c && ./membw 1 64 20; ./membw 2 64 20 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t len;
static int reps;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *stream(void *out) {
    uint64_t *a = aligned_alloc(64, len), *b = aligned_alloc(64, len), s = 0;
    if (!a || !b) exit(1);
    memset(a, 1, len);
    memset(b, 2, len);
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < len / 8; i++) b[i] ^= a[i] + s;
        s += b[r];
    }
    *(uint64_t *)out = s;
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int threads = atoi(argv[1]);
    len = (size_t)atoi(argv[2]) << 20;
    reps = atoi(argv[3]);
    if (threads < 1 || threads > 64) return 2;
    pthread_t t[64];
    uint64_t out[64];
    double start = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, stream, &out[i]);
    for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
    double secs = now() - start;
    /* Per pass: read a, read b, write b (setup included, so a slight underestimate). */
    printf("%d thread(s), %s MiB each: %.1f GB/s\n", threads, argv[2],
           3.0 * len * reps * threads / secs / 1e9);
    return 0;
}
