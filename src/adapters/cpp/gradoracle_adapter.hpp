// GradOracle's protocol v1 (docs/protocol.md) for C++ and CUDA test binaries: one header over nlohmann/json
// (Debian's nlohmann-json3-dev). Register each op under its torch.nn.functional name and call serve():
//
//   #include "gradoracle_adapter.hpp"
//   int main() {
//     gradoracle::Adapter adapter("my-kernels", "float64");
//     adapter.op("relu", [](const gradoracle::Inputs& in, const gradoracle::Attrs&, const gradoracle::Tensor* dy) {
//       gradoracle::Result r{in.at("input"), {}};
//       for (auto& v : r.output.data) v = v > 0 ? v : 0;
//       if (dy) { auto dx = *dy; for (size_t i = 0; i < dx.data.size(); i++) if (!(in.at("input").data[i] > 0)) dx.data[i] = 0; r.grads["input"] = dx; }
//       return r;
//     });
//     return adapter.serve();
//   }
//
// The helper answers hello, writes NaN and infinities as the strings the protocol wants, keeps -0.0, flushes
// every reply, and from the Adapter's construction points stdout (file descriptor 1: printf, std::cout) at
// stderr, so that nothing your kernels print corrupts the stream. Throw gradoracle::Unsupported("why") for a configuration you
// do not implement; any other exception is an error reply for that case, and the run goes on.
#pragma once

#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

namespace gradoracle {

/// A row-major tensor: shape, and its values as float64 (class indices are integral values).
struct Tensor {
    std::vector<long long> shape;
    std::vector<double> data;
};

using Inputs = std::map<std::string, Tensor>;
using Attrs = nlohmann::json;

/// What an op returns: its output and, when grad_output was sent, the gradient of each differentiable input.
struct Result {
    Tensor output;
    std::map<std::string, Tensor> grads;
};

/// Thrown by an op for a configuration it does not implement; the reason reaches the report.
struct Unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

using Op = std::function<Result(const Inputs&, const Attrs&, const Tensor* grad_output)>;

inline double number_in(const nlohmann::json& v) {
    if (v.is_string()) {
        const auto s = v.get<std::string>();
        if (s == "NaN") return std::nan("");
        if (s == "Infinity") return INFINITY;
        if (s == "-Infinity") return -INFINITY;
        throw std::invalid_argument("the string \"" + s + "\" is not a number");
    }
    return v.get<double>();
}

inline nlohmann::json number_out(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    return v;  // nlohmann writes the shortest round-trip form, -0.0 included
}

inline Tensor tensor_in(const nlohmann::json& t) {
    Tensor out;
    out.shape = t.at("shape").get<std::vector<long long>>();
    for (const auto& v : t.at("data")) out.data.push_back(number_in(v));
    return out;
}

inline nlohmann::json tensor_out(const Tensor& t, const std::string& what) {
    long long count = 1;
    for (auto d : t.shape) count *= d;
    if (count != static_cast<long long>(t.data.size()))
        throw std::invalid_argument(what + ": the shape needs " + std::to_string(count) + " values, the data holds " + std::to_string(t.data.size()));
    nlohmann::json data = nlohmann::json::array();
    for (double v : t.data) data.push_back(number_out(v));
    return {{"shape", t.shape}, {"data", data}};
}

/// Registers ops and answers GradOracle's requests on stdin/stdout.
class Adapter {
public:
    /// From here on fd 1 (printf, std::cout) points at stderr; the replies keep the real stdout.
    Adapter(std::string name, std::string dtype = "float64", nlohmann::json conventions = nlohmann::json::object())
        : name_(std::move(name)), dtype_(std::move(dtype)), conventions_(std::move(conventions)) {
        std::cout.flush();
        std::fflush(stdout);
        const int fd = dup(1);
        if (fd >= 0 && (out_ = fdopen(fd, "w")) != nullptr) dup2(2, 1);
        else out_ = stdout;
    }

    Adapter(const Adapter&) = delete;
    Adapter& operator=(const Adapter&) = delete;

    /// Registers the function for an op name (max_pool2d, conv2d, relu, ...).
    void op(const std::string& name, Op fn) { ops_[name] = std::move(fn); }

    /// The reply to one request line; never throws.
    nlohmann::json answer(const std::string& line) const {
        nlohmann::json id = nullptr;
        try {
            const auto request = nlohmann::json::parse(line);
            if (request.contains("id")) id = request["id"];
            const auto type = request.value("type", std::string());
            if (type == "hello") {
                nlohmann::json ops = nlohmann::json::array();
                for (const auto& [n, _] : ops_) ops.push_back(n);
                nlohmann::json reply = {{"id", id}, {"protocol", 1}, {"name", name_}, {"dtype", dtype_}, {"ops", ops}};
                if (!conventions_.empty()) reply["conventions"] = conventions_;
                return reply;
            }
            if (type != "run") return {{"id", id}, {"error", "unknown request type \"" + type + "\""}};
            const auto op = request.at("op").get<std::string>();
            const auto found = ops_.find(op);
            if (found == ops_.end()) return {{"id", id}, {"unsupported", true}, {"reason", op + " is not registered with this adapter"}};
            Inputs inputs;
            for (const auto& [n, t] : request.at("inputs").items()) inputs[n] = tensor_in(t);
            const bool backward = request.contains("grad_output") && !request["grad_output"].is_null();
            Tensor dy;
            if (backward) dy = tensor_in(request["grad_output"]);
            const auto result = found->second(inputs, request.value("attrs", nlohmann::json::object()), backward ? &dy : nullptr);
            nlohmann::json reply = {{"id", id}, {"output", tensor_out(result.output, "output")}};
            if (backward) {
                nlohmann::json grads = nlohmann::json::object();
                for (const auto& [n, g] : result.grads) grads[n] = tensor_out(g, "grads." + n);
                reply["grads"] = grads;
            }
            return reply;
        } catch (const Unsupported& e) {
            return {{"id", id}, {"unsupported", true}, {"reason", e.what()}};
        } catch (const std::exception& e) {
            return {{"id", id}, {"error", std::string("C++ exception: ") + e.what()}};
        }
    }

    /// Reads requests until stdin closes; each reply goes to the real stdout, flushed.
    int serve() {
        std::string line;
        while (std::getline(std::cin, line)) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            const auto text = answer(line).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
            std::fwrite(text.data(), 1, text.size(), out_);
            std::fflush(out_);
        }
        return 0;
    }

private:
    FILE* out_ = nullptr;
    std::string name_, dtype_;
    nlohmann::json conventions_;
    std::map<std::string, Op> ops_;
};

}  // namespace gradoracle
