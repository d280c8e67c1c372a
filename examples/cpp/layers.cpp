// relu and linear on the CPU through the C++ helper, as a kernel author's test binary would be:
//   g++ -std=c++17 -O2 -I src/adapters/cpp examples/cpp/layers.cpp -o layers && gradoracle verify --impl ./layers
// Built with -DPLANTED_BUG, linear's weight gradient is divided by the batch size.
#include "gradoracle_adapter.hpp"

using gradoracle::Tensor;

int main() {
    gradoracle::Adapter adapter("cpp-example", "float64", {{"relu_at_zero", 0}});
    std::printf("this print goes to stderr, not into the replies\n");

    adapter.op("relu", [](const gradoracle::Inputs& in, const gradoracle::Attrs&, const Tensor* dy) {
        const Tensor& x = in.at("input");
        gradoracle::Result r{x, {}};
        for (auto& v : r.output.data) v = v > 0 || std::isnan(v) ? v : 0;  // NaN passes, as PyTorch's relu
        if (dy) {
            Tensor dx = *dy;
            for (size_t i = 0; i < dx.data.size(); i++) if (!(x.data[i] > 0)) dx.data[i] = 0;
            r.grads["input"] = dx;
        }
        return r;
    });

    adapter.op("linear", [](const gradoracle::Inputs& in, const gradoracle::Attrs&, const Tensor* dy) {
        const Tensor& x = in.at("input");
        const Tensor& w = in.at("weight");
        const bool bias = in.count("bias") > 0;
        const long long out = w.shape[0], inner = w.shape[1], rows = static_cast<long long>(x.data.size()) / inner;
        Tensor y{x.shape, std::vector<double>(rows * out)};
        y.shape.back() = out;
        for (long long n = 0; n < rows; n++)
            for (long long o = 0; o < out; o++) {
                double s = bias ? in.at("bias").data[o] : 0;
                for (long long i = 0; i < inner; i++) s += x.data[n * inner + i] * w.data[o * inner + i];
                y.data[n * out + o] = s;
            }
        gradoracle::Result r{y, {}};
        if (!dy) return r;
        Tensor dx{x.shape, std::vector<double>(x.data.size())}, dw{w.shape, std::vector<double>(w.data.size())}, db{{out}, std::vector<double>(out)};
        for (long long n = 0; n < rows; n++)
            for (long long o = 0; o < out; o++) {
                const double g = dy->data[n * out + o];
                db.data[o] += g;
                for (long long i = 0; i < inner; i++) {
                    dx.data[n * inner + i] += g * w.data[o * inner + i];
                    dw.data[o * inner + i] += g * x.data[n * inner + i];
                }
            }
#ifdef PLANTED_BUG
        for (auto& v : dw.data) v /= static_cast<double>(rows);
#endif
        r.grads["input"] = dx;
        r.grads["weight"] = dw;
        if (bias) r.grads["bias"] = db;
        return r;
    });

    return adapter.serve();
}
