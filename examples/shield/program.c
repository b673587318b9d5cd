/*
 * notes: an ordinary WASI program (nothing from Witness; built with clang --target=wasm32-wasi).
 * Run by the shield, it keeps private notes in an encrypted mount, reads its settings from a
 * trusted mount, and leaves a public log on a host mount.
 *
 *   notes add TEXT     append TEXT to /data/notes.txt, print how many notes there are
 *   notes list         print the notes
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
  } else if (!(argc == 2 && !strcmp(argv[1], "list"))) {
    fprintf(stderr, "usage: notes add TEXT | notes list\n");
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
    if (argc == 2) printf("  %d. %s", n, line);
  }
  fclose(f);
  printf("%s: %d note%s\n", greeting, n, n == 1 ? "" : "s");
  return 0;
}
