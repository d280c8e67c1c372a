// The libtorch side of GradOracle's second oracle. Each op maps a torch.nn.functional call onto
// libtorch's C++ API in float64; autograd computes the gradients exactly as PyTorch would.
#include "gradoracle_torch.h"

#include <torch/torch.h>

#include <cstring>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace F = torch::nn::functional;

struct go_result {
  std::string error;
  std::string warnings;  // libtorch's warnings during the call, one per line
  std::vector<std::string> names;
  std::vector<torch::Tensor> tensors;  // contiguous float64, CPU
};

namespace {

// Collects libtorch's warnings into the current call's result instead of printing them to stderr.
thread_local go_result* current = nullptr;

class CollectingHandler : public c10::WarningHandler {
 public:
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    if (current) current->warnings += msg + "\n";
  }
};

CollectingHandler collecting_handler;

struct Attrs {
  std::map<std::string, std::string> values;

  explicit Attrs(const char* text) {
    std::stringstream ss(text ? text : "");
    std::string item;
    while (std::getline(ss, item, ';')) {
      if (item.empty()) continue;
      auto eq = item.find('=');
      if (eq == std::string::npos) throw std::invalid_argument("attribute without '=': " + item);
      values[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  bool has(const std::string& k) const { return values.count(k) > 0; }
  const std::string& raw(const std::string& k) const {
    auto it = values.find(k);
    if (it == values.end()) throw std::invalid_argument("missing attribute '" + k + "'");
    return it->second;
  }
  std::vector<int64_t> ints(const std::string& k) const {
    std::vector<int64_t> v;
    std::stringstream ss(raw(k));
    std::string x;
    while (std::getline(ss, x, ',')) v.push_back(std::stoll(x));
    return v;
  }
  int64_t integer(const std::string& k) const { return std::stoll(raw(k)); }
  double real(const std::string& k) const { return std::stod(raw(k)); }
  bool flag(const std::string& k) const { return raw(k) == "1"; }
};

torch::Tensor find(const std::map<std::string, torch::Tensor>& in, const std::string& name) {
  auto it = in.find(name);
  if (it == in.end()) throw std::invalid_argument("missing input '" + name + "'");
  return it->second;
}

bool present(const std::map<std::string, torch::Tensor>& in, const std::string& name) { return in.count(name) > 0; }

int rank_of(const std::string& op) {
  char c = op.at(op.size() - 2);  // "...2d"
  if (c < '1' || c > '3') throw std::invalid_argument("no spatial rank in op name " + op);
  return c - '0';
}

bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Runs the forward; `extra` receives additional outputs (max pooling's indices).
torch::Tensor forward(const std::string& op, const Attrs& a, const std::map<std::string, torch::Tensor>& in,
                      std::vector<std::pair<std::string, torch::Tensor>>& extra) {
  auto x = find(in, "input");
  if (starts(op, "max_pool")) {
    int r = rank_of(op);
    auto k = a.ints("kernel_size"), s = a.ints("stride"), p = a.ints("padding"), d = a.ints("dilation");
    bool ceil = a.flag("ceil_mode");
    std::tuple<torch::Tensor, torch::Tensor> t;
    if (r == 1) t = at::max_pool1d_with_indices(x, k, s, p, d, ceil);
    else if (r == 2) t = at::max_pool2d_with_indices(x, k, s, p, d, ceil);
    else t = at::max_pool3d_with_indices(x, k, s, p, d, ceil);
    extra.emplace_back("indices", std::get<1>(t).to(torch::kDouble));
    return std::get<0>(t);
  }
  if (starts(op, "avg_pool")) {
    int r = rank_of(op);
    auto k = a.ints("kernel_size"), s = a.ints("stride"), p = a.ints("padding");
    bool ceil = a.flag("ceil_mode"), include = a.flag("count_include_pad");
    c10::optional<int64_t> divisor;
    if (a.has("divisor_override")) divisor = a.integer("divisor_override");
    if (r == 1) {
      if (divisor) throw std::invalid_argument("avg_pool1d has no divisor_override");
      return at::avg_pool1d(x, k, s, p, ceil, include);
    }
    if (r == 2) return at::avg_pool2d(x, k, s, p, ceil, include, divisor);
    return at::avg_pool3d(x, k, s, p, ceil, include, divisor);
  }
  if (starts(op, "adaptive_max_pool")) {
    int r = rank_of(op);
    auto o = a.ints("output_size");
    std::tuple<torch::Tensor, torch::Tensor> t;
    if (r == 1) t = at::adaptive_max_pool1d(x, o);
    else if (r == 2) t = at::adaptive_max_pool2d(x, o);
    else t = at::adaptive_max_pool3d(x, o);
    extra.emplace_back("indices", std::get<1>(t).to(torch::kDouble));
    return std::get<0>(t);
  }
  if (starts(op, "adaptive_avg_pool")) {
    int r = rank_of(op);
    auto o = a.ints("output_size");
    if (r == 1) return at::adaptive_avg_pool1d(x, o);
    if (r == 2) return at::adaptive_avg_pool2d(x, o);
    return at::adaptive_avg_pool3d(x, o);
  }
  if (starts(op, "conv")) {
    int r = rank_of(op);
    auto w = find(in, "weight");
    c10::optional<torch::Tensor> b;
    if (present(in, "bias")) b = find(in, "bias");
    auto s = a.ints("stride"), d = a.ints("dilation");
    int64_t g = a.integer("groups");
    const auto& pad = a.raw("padding");
    if (pad == "same" || pad == "valid") {
      if (r == 1) return at::conv1d(x, w, b, s, pad, d, g);
      if (r == 2) return at::conv2d(x, w, b, s, pad, d, g);
      return at::conv3d(x, w, b, s, pad, d, g);
    }
    auto p = a.ints("padding");
    if (r == 1) return at::conv1d(x, w, b, s, p, d, g);
    if (r == 2) return at::conv2d(x, w, b, s, p, d, g);
    return at::conv3d(x, w, b, s, p, d, g);
  }
  if (op == "linear") {
    c10::optional<torch::Tensor> b;
    if (present(in, "bias")) b = find(in, "bias");
    return at::linear(x, find(in, "weight"), b);
  }
  if (op == "relu") return torch::relu(x);
  if (op == "leaky_relu") return torch::leaky_relu(x, a.real("negative_slope"));
  if (op == "sigmoid") return torch::sigmoid(x);
  if (op == "tanh") return torch::tanh(x);
  if (op == "softmax") return torch::softmax(x, a.integer("dim"));
  if (op == "log_softmax") return torch::log_softmax(x, a.integer("dim"));
  if (op == "cross_entropy") {
    auto target = find(in, "target").to(torch::kLong);
    const auto& red = a.raw("reduction");
    auto opts = F::CrossEntropyFuncOptions();
    if (red == "mean") opts = opts.reduction(torch::kMean);
    else if (red == "sum") opts = opts.reduction(torch::kSum);
    else if (red == "none") opts = opts.reduction(torch::kNone);
    else throw std::invalid_argument("unknown reduction " + red);
    return F::cross_entropy(x, target, opts);
  }
  if (op == "batch_norm") {
    bool training = a.flag("training");
    c10::optional<torch::Tensor> w, b, rm, rv;
    if (present(in, "weight")) w = find(in, "weight");
    if (present(in, "bias")) b = find(in, "bias");
    if (present(in, "running_mean")) rm = find(in, "running_mean").clone();  // training would update them
    if (present(in, "running_var")) rv = find(in, "running_var").clone();
    return at::batch_norm(x, w, b, rm, rv, training, 0.1, a.real("eps"), false);
  }
  if (op == "flatten") return torch::flatten(x, a.integer("start_dim"), a.integer("end_dim"));
  throw std::invalid_argument("libtorch bridge has no op '" + op + "'");
}

bool differentiable(const std::string& name) {
  return name != "target" && name != "running_mean" && name != "running_var";
}

}  // namespace

extern "C" {

const char* go_torch_version(void) {
  static const std::string v = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                               std::to_string(TORCH_VERSION_PATCH);
  return v.c_str();
}

go_result* go_run(const char* op, const char* attrs, int n_inputs, const char* const* names, const double* const* data,
                  const int* ranks, const int64_t* const* shapes, const double* grad_output, int grad_rank,
                  const int64_t* grad_shape) {
  auto* result = new go_result();
  current = result;
  c10::Warning::WarningHandlerGuard guard(&collecting_handler);
  c10::Warning::set_warnAlways(true);  // every call reports its own warnings, not only the first
  try {
    Attrs a(attrs);
    std::map<std::string, torch::Tensor> in;
    std::vector<std::string> order;
    auto opts = torch::TensorOptions().dtype(torch::kDouble);
    for (int i = 0; i < n_inputs; i++) {
      std::vector<int64_t> dims(shapes[i], shapes[i] + ranks[i]);
      auto t = torch::from_blob(const_cast<double*>(data[i]), dims, opts).clone();
      std::string name = names[i];
      if (grad_output && differentiable(name)) t.requires_grad_(true);
      in[name] = t;
      order.push_back(name);
    }
    std::vector<std::pair<std::string, torch::Tensor>> extra;
    auto out = forward(op ? op : "", a, in, extra);
    result->names.push_back("output");
    result->tensors.push_back(out.detach().to(torch::kDouble).contiguous());
    if (grad_output) {
      std::vector<int64_t> dims(grad_shape, grad_shape + grad_rank);
      auto g = torch::from_blob(const_cast<double*>(grad_output), dims, opts).clone();
      out.backward(g);
      for (const auto& name : order) {
        const auto& t = in[name];
        if (!t.requires_grad()) continue;
        auto grad = t.grad();
        result->names.push_back("grad." + name);
        result->tensors.push_back(grad.defined() ? grad.contiguous() : torch::zeros_like(t).detach());
      }
    }
    for (auto& e : extra) {
      result->names.push_back(e.first);
      result->tensors.push_back(e.second.contiguous());
    }
  } catch (const std::exception& e) {
    result->error = e.what();
    result->names.clear();
    result->tensors.clear();
  } catch (...) {
    result->error = "unknown C++ exception in libtorch";
    result->names.clear();
    result->tensors.clear();
  }
  current = nullptr;
  return result;
}

const char* go_result_warnings(const go_result* r) { return r->warnings.empty() ? nullptr : r->warnings.c_str(); }
const char* go_result_error(const go_result* r) { return r->error.empty() ? nullptr : r->error.c_str(); }
int go_result_count(const go_result* r) { return static_cast<int>(r->tensors.size()); }
const char* go_result_name(const go_result* r, int i) { return r->names.at(i).c_str(); }
int go_result_rank(const go_result* r, int i) { return static_cast<int>(r->tensors.at(i).dim()); }
void go_result_shape(const go_result* r, int i, int64_t* dims) {
  const auto& t = r->tensors.at(i);
  for (int64_t d = 0; d < t.dim(); d++) dims[d] = t.size(d);
}
int64_t go_result_numel(const go_result* r, int i) { return r->tensors.at(i).numel(); }
void go_result_copy(const go_result* r, int i, double* out) {
  const auto& t = r->tensors.at(i);
  std::memcpy(out, t.data_ptr<double>(), sizeof(double) * t.numel());
}
void go_result_free(go_result* r) { delete r; }

}  // extern "C"
