/* main.c — the nnfit program: dispatches to one subcommand per file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "coretype.h"
#include "sweep_cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *what;
} commands[] = {
    {"train", cmd_train, "train a model on a built-in task or your data"},
    {"data", cmd_data, "export a built-in task's dataset as CSV or .npy"},
    {"predict", cmd_predict, "run a saved model over a CSV or .npy file"},
    {"inspect", cmd_inspect, "show a saved model's architecture, metadata and weights"},
    {"sweep", cmd_sweep, "many restarts over a grid of settings: success rates, pictures"},
    {"plot", cmd_plot, "render the pictures of a sweep --plot directory"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: nnfit COMMAND [options]   (nnfit COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].what);
}

int main(int argc, char **argv)
{
    cli_pick_openblas_core(argv);
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
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) {
            static char prog[64];
            snprintf(prog, sizeof prog, "nnfit %s", commands[i].name);
            cli_prog = prog;
            return commands[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "nnfit: error: unknown command '%s' (commands:", argv[1]);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "; see nnfit --help)\n");
    return EXIT_USAGE;
}
