/* main.c — the nnfit program: dispatches to one subcommand per file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coretype.h"
#include "mpi_cli.h"
#include "sweep_cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
    int mpi;      /* runs on several ranks under mpirun */
    int one_blas; /* never runs BLAS on several threads, so starts no OpenBLAS pool (coretype.h) */
} commands[] = {
    {"train", cmd_train, "train a model on a built-in task or your data", 1, 0},
    {"data", cmd_data, "export a built-in task's dataset as CSV or .npy", 0, 0},
    {"predict", cmd_predict, "run a saved model over a CSV or .npy file", 0, 0},
    {"inspect", cmd_inspect, "show a saved model's architecture, metadata and weights", 0, 0},
    {"sweep", cmd_sweep, "many restarts over a grid of settings: success rates, pictures", 1, 1},
    {"plot", cmd_plot, "render the pictures of a sweep --plot directory", 0, 0},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

/* The command argv[1] names, or -1. */
static int command_index(int argc, char **argv)
{
    for (int i = 0; argc > 1 && i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name)) return i;
    return -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: nnfit COMMAND [options]   (nnfit COMMAND --help for its options)\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nnfit %s\n", NNFIT_VERSION);
        return 0;
    }
    const int c = command_index(argc, argv);
    if (c >= 0) {
        static char prog[64];
        snprintf(prog, sizeof prog, "nnfit %s", commands[c].name);
        cli_prog = prog;
        if (!commands[c].mpi && cli_mpi_on()) return cli_mpi_single(commands[c].name);
        return commands[c].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "nnfit: error: unknown command '%s' (commands:", argv[1]);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "; see nnfit --help)\n");
    return EXIT_USAGE;
}

/* Under mpirun every rank runs main (mpi_cli.h); without it the MPI calls do nothing. */
int main(int argc, char **argv)
{
    const int c = command_index(argc, argv);
    cli_setup_openblas(argv, c >= 0 && commands[c].one_blas);
    int rc = cli_mpi_start(&argc, &argv);
    if (!rc) rc = run(argc, argv);
    cli_mpi_end();
    return rc;
}
