/* nnfit.h — umbrella header: everything libnnfit offers. */
#ifndef NNFIT_NNFIT_H
#define NNFIT_NNFIT_H

#define NNFIT_VERSION "0.1.0"

#include "nnfit/status.h"
#include "nnfit/rng.h"
#include "nnfit/mat.h"
#include "nnfit/act.h"
#include "nnfit/loss.h"
#include "nnfit/dense.h"
#include "nnfit/model.h"
#include "nnfit/dist.h"
#include "nnfit/init.h"
#include "nnfit/optim.h"
#include "nnfit/task.h"
#include "nnfit/data.h"
#include "nnfit/model_io.h"
#include "nnfit/train.h"
#include "nnfit/train_aids.h"
#include "nnfit/run.h"
#include "nnfit/diag.h"
#include "nnfit/blas.h"
#include "nnfit/stats.h"
#include "nnfit/sweep.h"
#include "nnfit/mpi.h"

#endif
