/* GradOracle's bridge to libtorch: a plain C ABI over caller-owned float64 buffers.
 * One call runs an op's forward and, when a grad_output is given, its backward through libtorch's
 * autograd. Errors come back as messages on the result; no C++ exception crosses this boundary. */
#ifndef GRADORACLE_TORCH_H
#define GRADORACLE_TORCH_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GO_API __attribute__((visibility("default")))

typedef struct go_result go_result;

/* libtorch's version, e.g. "1.13.1". */
GO_API const char* go_torch_version(void);

/* Runs `op` (torch.nn.functional name) with attributes "name=value;name=value" (int lists as "2,3",
 * booleans as 0/1). Inputs are named float64 tensors, row-major: names[i], data[i], ranks[i], shapes[i].
 * grad_output may be NULL (forward only). Always returns a result, to be freed with go_result_free. */
GO_API go_result* go_run(const char* op, const char* attrs, int n_inputs, const char* const* names,
                         const double* const* data, const int* ranks, const int64_t* const* shapes,
                         const double* grad_output, int grad_rank, const int64_t* grad_shape);

/* NULL when libtorch warned nothing during the call, else its warnings, one per line. */
GO_API const char* go_result_warnings(const go_result* r);
/* NULL on success, else the error message. */
GO_API const char* go_result_error(const go_result* r);
/* Result tensors: "output", then "grad.<input>" for each differentiable input, then e.g. "indices". */
GO_API int go_result_count(const go_result* r);
GO_API const char* go_result_name(const go_result* r, int i);
GO_API int go_result_rank(const go_result* r, int i);
GO_API void go_result_shape(const go_result* r, int i, int64_t* dims);
GO_API int64_t go_result_numel(const go_result* r, int i);
GO_API void go_result_copy(const go_result* r, int i, double* out);
GO_API void go_result_free(go_result* r);

#ifdef __cplusplus
}
#endif
#endif
