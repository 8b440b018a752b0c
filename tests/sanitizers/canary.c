/* canary.c: a deliberate bug per sanitizer, so that `make test-sanitize`
 * proves the sanitizer reports on this machine before trusting its silence
 * on the real suite.
 *
 *   canary heap   a one-byte heap overflow       (ASan must report)
 *   canary ub     a signed integer overflow      (UBSan must report)
 *   canary race   two threads write one int      (TSan must report)
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int shared;

static void *writer(void *arg) {
  (void) arg;
  shared++;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "heap") == 0) {
    volatile char *p = malloc(8);
    p[8] = 1;
    free((void *) p);
  } else if (argc == 2 && strcmp(argv[1], "ub") == 0) {
    volatile int big = INT_MAX;
    big = big + argc;
    printf("%d\n", big);
  } else if (argc == 2 && strcmp(argv[1], "race") == 0) {
    pthread_t a, b;
    pthread_create(&a, NULL, writer, NULL);
    pthread_create(&b, NULL, writer, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d\n", shared);
  } else {
    fprintf(stderr, "usage: canary heap|ub|race\n");
    return 2;
  }
  return 0;
}
