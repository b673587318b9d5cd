/*
 * notes: an ordinary WASI program (nothing from Witness; built with clang --target=wasm32-wasi).
 * Run by the shield, it keeps private notes in an encrypted mount, reads its settings from a
 * trusted mount, and leaves a public log on a host mount.
 *
 *   notes add TEXT     append TEXT to /data/notes.txt, print how many notes there are
 *   notes list         print the notes
 *   notes attest       prove to a relying party how many notes it holds: the party's challenge
 *                      (/out/challenge.txt) and the count go into a quote (/out/quote.bin), made
 *                      through Gramine's /dev/attestation files
 */
#include <stdio.h>
#include <string.h>

static void log_line(const char* what) {
  FILE* log = fopen("/out/log.txt", "a");
  if (log) {
    fprintf(log, "%s\n", what); /* what the host may see: never a note's text */
    fclose(log);
  }
}

/* The quote's 64 bytes of report data: the challenge (up to 32 bytes), then "notes: N". */
static int attest(int n) {
  unsigned char data[64] = {0};
  static unsigned char quote[65536];
  FILE* f = fopen("/out/challenge.txt", "r");
  if (!f) {
    perror("challenge");
    return 1;
  }
  size_t got = fread(data, 1, 32, f);
  fclose(f);
  if (got == 0) return 1;
  snprintf((char*)data + 32, 32, "notes: %d", n);
  f = fopen("/dev/attestation/user_report_data", "w");
  if (!f || fwrite(data, 1, sizeof data, f) != sizeof data || fclose(f)) {
    perror("user_report_data");
    return 1;
  }
  f = fopen("/dev/attestation/quote", "r");
  if (!f) {
    perror("quote");
    return 1;
  }
  size_t len = fread(quote, 1, sizeof quote, f);
  fclose(f);
  FILE* out = fopen("/out/quote.bin", "w");
  if (!out || fwrite(quote, 1, len, out) != len || fclose(out)) {
    perror("quote.bin");
    return 1;
  }
  printf("a quote of %zu bytes for %d note%s\n", len, n, n == 1 ? "" : "s");
  return 0;
}

int main(int argc, char** argv) {
  char greeting[64] = "notes";
  FILE* conf = fopen("/etc/notes/greeting.txt", "r");
  if (conf) {
    if (!fgets(greeting, sizeof greeting, conf)) greeting[0] = 0;
    greeting[strcspn(greeting, "\n")] = 0;
    fclose(conf);
  } else {
    perror("settings");
    return 1;
  }
  if (argc == 3 && !strcmp(argv[1], "add")) {
    FILE* f = fopen("/data/notes.txt", "a");
    if (!f) {
      perror("notes");
      return 1;
    }
    fprintf(f, "%s\n", argv[2]);
    fclose(f);
    log_line("a note was added");
  } else if (!(argc == 2 && (!strcmp(argv[1], "list") || !strcmp(argv[1], "attest")))) {
    fprintf(stderr, "usage: notes add TEXT | notes list | notes attest\n");
    return 2;
  }
  FILE* f = fopen("/data/notes.txt", "r");
  if (!f) {
    perror("notes");
    return 1;
  }
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    n++;
    if (argc == 2 && !strcmp(argv[1], "list")) printf("  %d. %s", n, line);
  }
  fclose(f);
  if (argc == 2 && !strcmp(argv[1], "attest")) return attest(n);
  printf("%s: %d note%s\n", greeting, n, n == 1 ? "" : "s");
  return 0;
}
