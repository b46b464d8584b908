/*
 * seccomp-exec: runs a program under a seccomp filter like the one systemd builds from a
 * unit's SystemCallFilter= lines. Used by SandboxTests; built with `cc ... -lseccomp`.
 *
 *   seccomp-exec [-u UID:GID] [-e ERRNO] [-m] (-a | -d) LISTFILE PROGRAM [ARG...]
 *
 * -a: LISTFILE is an allow-list; any other system call gets the action.
 * -d: LISTFILE is a deny-list; its system calls get the action, the others are allowed.
 * The action kills the process (SIGSYS), as systemd does without SystemCallErrorNumber=,
 * or, with -e, makes the call fail with ERRNO. LISTFILE has one system call name per line;
 * names this architecture does not have are skipped. -u drops to UID:GID (with no
 * supplementary groups) before the filter is loaded, as User=/Group= would. -m refuses
 * writable and executable memory (prctl PR_SET_MDWE, Linux 6.3+), as MemoryDenyWriteExecute=
 * does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

static void usage(void) {
    fprintf(stderr, "usage: seccomp-exec [-u UID:GID] [-e ERRNO] [-m] (-a | -d) LISTFILE PROGRAM [ARG...]\n");
    exit(125);
}

int main(int argc, char **argv) {
    int allow_list = -1, error_number = -1, deny_write_execute = 0, opt;
    long uid = -1, gid = -1;
    while ((opt = getopt(argc, argv, "+u:e:mad")) != -1) {
        switch (opt) {
        case 'u':
            if (sscanf(optarg, "%ld:%ld", &uid, &gid) != 2) usage();
            break;
        case 'e': error_number = atoi(optarg); break;
        case 'm': deny_write_execute = 1; break;
        case 'a': allow_list = 1; break;
        case 'd': allow_list = 0; break;
        default: usage();
        }
    }
    if (allow_list < 0 || argc - optind < 2) usage();
    const char *list_path = argv[optind];
    char **command = argv + optind + 1;

    uint32_t action = error_number >= 0 ? SCMP_ACT_ERRNO((uint32_t)error_number) : SCMP_ACT_KILL_PROCESS;
    scmp_filter_ctx ctx = seccomp_init(allow_list ? action : SCMP_ACT_ALLOW);
    if (ctx == NULL) { fprintf(stderr, "seccomp-exec: seccomp_init failed\n"); return 125; }
    FILE *list = fopen(list_path, "r");
    if (list == NULL) { perror(list_path); return 125; }
    char line[256];
    while (fgets(line, sizeof line, list) != NULL) {
        line[strcspn(line, " \t\r\n")] = '\0';
        if (line[0] == '\0') continue;
        int number = seccomp_syscall_resolve_name(line);
        if (number == __NR_SCMP_ERROR || number < 0) continue;  /* not on this architecture */
        int rc = seccomp_rule_add(ctx, allow_list ? SCMP_ACT_ALLOW : action, number, 0);
        if (rc != 0) { fprintf(stderr, "seccomp-exec: rule for %s: %s\n", line, strerror(-rc)); return 125; }
    }
    fclose(list);

    if (uid >= 0) {
        if (setgroups(0, NULL) != 0 || setgid((gid_t)gid) != 0 || setuid((uid_t)uid) != 0) {
            perror("seccomp-exec: dropping privileges");
            return 125;
        }
    }
    if (deny_write_execute && prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) != 0) {
        perror("seccomp-exec: PR_SET_MDWE");
        return 125;
    }
    struct rlimit no_core = {0, 0};  /* a process killed by SIGSYS leaves no core file */
    setrlimit(RLIMIT_CORE, &no_core);
    int rc = seccomp_load(ctx);  /* sets no_new_privs first */
    if (rc != 0) { fprintf(stderr, "seccomp-exec: seccomp_load: %s\n", strerror(-rc)); return 125; }
    seccomp_release(ctx);
    execv(command[0], command);
    perror(command[0]);
    return 127;
}
