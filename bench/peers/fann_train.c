/* fann_train.c — the bench_train workloads FANN 2.2 can express, trained with RPROP.
 *
 * FANN 2.2 has no ReLU (FANN_LINEAR_PIECE_RECT arrived in 2.3), so only the linear workloads
 * are run: fir 64→64, dft 64→66, dft 1024→2048 (one layer, FANN_LINEAR output, bias neuron,
 * FANN_ERRORFUNC_LINEAR so the error is plain MSE).  One step is one fann_train_epoch over
 * the whole batch: RPROP is a batch algorithm, so that is one forward/backward pass per
 * sample and one weight update — the same work as a bench_train step.  FANN computes
 * sample by sample without BLAS; this column shows what a classic per-sample library costs.
 *
 * usage: fann_train --task fir|dft64|dft1024 [--batch 4096] [--seconds 2] [--json] */
#include <fann.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Box–Muller normals from a fixed LCG-free source (drand48 is enough for timing data). */
static double normal(void)
{
    double u = drand48(), v = drand48();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

int main(int argc, char **argv)
{
    const char *task = NULL;
    int batch = 4096, json = 0;
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--task") && i + 1 < argc) task = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) batch = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: fann_train --task fir|dft64|dft1024 [--batch N] [--seconds S] [--json]\n");
            return 2;
        }
    }
    int n_in, n_out, frame;
    if (task && !strcmp(task, "fir")) n_in = n_out = frame = 64;
    else if (task && !strcmp(task, "dft64")) n_in = frame = 64, n_out = 66;
    else if (task && !strcmp(task, "dft1024")) n_in = frame = 1024, n_out = 2048;
    else {
        fprintf(stderr, "fann_train: --task must be fir, dft64 or dft1024 (FANN 2.2 has no ReLU)\n");
        return 2;
    }
    if (batch < 1 || !(seconds > 0)) {
        fprintf(stderr, "fann_train: --batch and --seconds must be positive\n");
        return 2;
    }
    srand48(1);
    struct fann_train_data *data = fann_create_train(batch, n_in, n_out);
    struct fann *ann = fann_create_standard(2, n_in, n_out);
    if (!data || !ann) {
        fprintf(stderr, "fann_train: out of memory\n");
        return 1;
    }
    /* Targets through the exact operator (values do not change the work), DFT from a
     * cos/sin table so dft1024 data takes seconds, not minutes. */
    int full = n_out == 2 * frame, K = full ? frame : frame / 2 + 1;
    double *ct = malloc((size_t)K * (size_t)frame * sizeof(double));
    double *st = malloc((size_t)K * (size_t)frame * sizeof(double));
    if (!ct || !st) {
        fprintf(stderr, "fann_train: out of memory\n");
        return 1;
    }
    for (int k = 0; k < K; k++)
        for (int n = 0; n < frame; n++) {
            double a = -6.283185307179586 * (double)((long)k * n % frame) / frame;
            ct[(size_t)k * (size_t)frame + (size_t)n] = cos(a);
            st[(size_t)k * (size_t)frame + (size_t)n] = sin(a);
        }
    for (int r = 0; r < batch; r++) {
        fann_type *x = data->input[r], *y = data->output[r];
        for (int i = 0; i < n_in; i++) x[i] = (fann_type)normal();
        if (!strcmp(task, "fir")) {
            for (int n = 0; n < n_out; n++) {
                double s = 0.0;
                for (int k = 0; k < 31 && k <= n; k++) s += x[n - k] / 31.0;
                y[n] = (fann_type)s;
            }
        } else {
            for (int k = 0; k < K; k++) {
                double re = 0.0, im = 0.0;
                const double *c = ct + (size_t)k * (size_t)frame, *sn = st + (size_t)k * (size_t)frame;
                for (int n = 0; n < frame; n++) {
                    re += x[n] * c[n];
                    im += x[n] * sn[n];
                }
                y[k] = (fann_type)re;
                y[K + k] = (fann_type)im;
            }
        }
    }
    free(ct);
    free(st);
    fann_set_activation_function_output(ann, FANN_LINEAR);
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_randomize_weights(ann, -0.1f, 0.1f);

    double t0 = now();
    fann_train_epoch(ann, data); /* warm-up */
    double est = now() - t0;
    int blocks = 5;
    while (blocks > 1 && blocks * est > seconds) blocks--;
    int per = (int)(seconds / blocks / est);
    if (per < 1) per = 1;
    double rate[5], mse = 0.0;
    for (int b = 0; b < blocks; b++) {
        t0 = now();
        for (int s = 0; s < per; s++) mse = fann_train_epoch(ann, data);
        rate[b] = per / (now() - t0);
    }
    qsort(rate, (size_t)blocks, sizeof rate[0], cmp_double);
    double med = blocks % 2 ? rate[blocks / 2] : 0.5 * (rate[blocks / 2 - 1] + rate[blocks / 2]);
    if (json)
        printf("{\"program\": \"fann_train\", \"name\": \"%s\", \"batch\": %d, \"steps_per_s\": %.9g, "
               "\"blocks\": %d, \"steps_per_block\": %d, \"mse\": %.9g}\n",
               task, batch, med, blocks, per, mse);
    else
        printf("FANN %s %d→%d RPROP batch %d: %.3f steps/s (%d blocks of %d), mse %.4g\n", task,
               n_in, n_out, batch, med, blocks, per, mse);
    fann_destroy(ann);
    fann_destroy_train(data);
    return 0;
}
