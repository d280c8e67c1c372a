using System.Collections.Frozen;
using GradOracle.Layers;
using TorchSharp;
using static TorchSharp.torch.nn.functional;
using TorchTensor = TorchSharp.torch.Tensor;

namespace GradOracle.Torch;

/// <summary>One call's inputs as libtorch tensors and its attributes, read the way torch.nn.functional takes them.</summary>
internal sealed class TorchCall(OpAttributes attrs, IReadOnlyDictionary<string, TorchTensor> inputs)
{
    /// <summary>Outputs besides the forward's result (max pooling's indices), by name.</summary>
    public List<(string Name, TorchTensor Value)> Extra { get; } = [];

    public TorchTensor Input(string name) =>
        inputs.TryGetValue(name, out var t) ? t : throw new ArgumentException($"missing input '{name}'");

    public TorchTensor? Optional(string name) => inputs.GetValueOrDefault(name);

    public long[] Ints(string name) => Attr(name) switch
    {
        int[] v => [.. v.Select(i => (long)i)],
        int i => [i],
        var v => throw new ArgumentException($"attribute '{name}' is {v}, not a list of integers"),
    };

    public double[] Reals(string name) => Attr(name) switch
    {
        double[] v => v,
        int[] v => [.. v.Select(i => (double)i)],
        double d => [d],
        int i => [i],
        var v => throw new ArgumentException($"attribute '{name}' is {v}, not a list of numbers"),
    };

    public bool Has(string name) => attrs.Contains(name);

    public long Int(string name) => Attr(name) is int i ? i : throw new ArgumentException($"attribute '{name}' is not an integer");

    public double Real(string name) => Attr(name) switch { double d => d, int i => i, var v => throw new ArgumentException($"attribute '{name}' is {v}, not a number") };

    public bool Flag(string name) => Attr(name) is bool b ? b : throw new ArgumentException($"attribute '{name}' is not a boolean");

    public object Attr(string name) => attrs.Contains(name) ? attrs[name] : throw new ArgumentException($"missing attribute '{name}'");
}

/// <summary>
/// Every op the oracle has, as its torch.nn.functional call in libtorch through TorchSharp: the whole
/// mapping in one table, by op name.
/// </summary>
internal static class TorchFunctions
{
    /// <summary>The forward of each op name; autograd gives the backward.</summary>
    public static FrozenDictionary<string, Func<TorchCall, TorchTensor>> Forward { get; } = Build();

    private static FrozenDictionary<string, Func<TorchCall, TorchTensor>> Build()
    {
        var table = new Dictionary<string, Func<TorchCall, TorchTensor>>
        {
            ["linear"] = c => linear(c.Input("input"), c.Input("weight"), c.Optional("bias")),
            ["relu"] = c => relu(c.Input("input")),
            ["leaky_relu"] = c => leaky_relu(c.Input("input"), c.Real("negative_slope")),
            ["sigmoid"] = c => sigmoid(c.Input("input")),
            ["tanh"] = c => torch.tanh(c.Input("input")),
            ["silu"] = c => torch.nn.functional.silu(c.Input("input")),
            ["mish"] = c => torch.nn.functional.mish(c.Input("input")),
            ["hardtanh"] = c => TorchSharpFixes.Hardtanh(c.Input("input"), c.Real("min_val"), c.Real("max_val")),
            ["relu6"] = c => torch.nn.functional.relu6(c.Input("input")),
            ["hardsigmoid"] = c => torch.nn.functional.hardsigmoid(c.Input("input")),
            ["hardswish"] = c => torch.nn.functional.hardswish(c.Input("input")),
            ["elu"] = c => torch.nn.functional.elu(c.Input("input"), c.Real("alpha")),
            ["selu"] = c => torch.nn.functional.selu(c.Input("input")),
            ["celu"] = c => torch.nn.functional.celu(c.Input("input"), c.Real("alpha")),
            ["softplus"] = c => torch.nn.functional.softplus(c.Input("input"), c.Real("beta"), c.Real("threshold")),
            ["prelu"] = c => torch.nn.functional.prelu(c.Input("input"), c.Input("weight")),
            ["pixel_shuffle"] = c => torch.nn.functional.pixel_shuffle(c.Input("input"), c.Int("upscale_factor")),
            ["pixel_unshuffle"] = c => torch.nn.functional.pixel_unshuffle(c.Input("input"), c.Int("downscale_factor")),
            ["gelu"] = c => c.Input("input").gelu((string)c.Attr("approximate") == "tanh" ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none),
            ["softmax"] = c => softmax(c.Input("input"), c.Int("dim")),
            ["log_softmax"] = c => log_softmax(c.Input("input"), c.Int("dim")),
            ["cross_entropy"] = CrossEntropy,
            ["mse_loss"] = c => mse_loss(c.Input("input"), c.Input("target"), ReductionOf(c)),
            ["binary_cross_entropy"] = c => binary_cross_entropy(c.Input("input"), c.Input("target"), c.Optional("weight"), ReductionOf(c)),
            ["binary_cross_entropy_with_logits"] = c =>
                binary_cross_entropy_with_logits(c.Input("input"), c.Input("target"), c.Optional("weight"), ReductionOf(c), c.Optional("pos_weight")),
            ["kl_div"] = KlDiv,
            ["embedding"] = Embedding,
            // libtorch's dropout draws its own mask: the given one is applied as native_dropout applies its own, input·mask·1/(1 - p).
            ["dropout"] = c => !c.Flag("training") ? c.Input("input").clone()
                : c.Real("p") == 1 ? c.Input("input") * 0 : c.Input("input") * c.Input("mask") * (1 / (1 - c.Real("p"))),
            ["pad"] = c => torch.nn.functional.pad(c.Input("input"), c.Ints("pad"), (string)c.Attr("mode") switch
            {
                "reflect" => TorchSharp.PaddingModes.Reflect,
                "replicate" => TorchSharp.PaddingModes.Replicate,
                "circular" => TorchSharp.PaddingModes.Circular,
                _ => TorchSharp.PaddingModes.Constant,
            }, c.Real("value")),
            ["l1_loss"] = c => l1_loss(c.Input("input"), c.Input("target"), ReductionOf(c)),
            // beta = 0 is l1_loss by PyTorch's definition; its smooth_l1 kernel answers dx = dt there, outside the valid set (docs/libtorch.md).
            ["smooth_l1_loss"] = c => c.Real("beta") == 0 ? l1_loss(c.Input("input"), c.Input("target"), ReductionOf(c))
                : smooth_l1_loss(c.Input("input"), c.Input("target"), ReductionOf(c), c.Real("beta")),
            ["huber_loss"] = c => huber_loss(c.Input("input"), c.Input("target"), c.Real("delta"), ReductionOf(c)),
            ["nll_loss"] = NllLoss,
            ["interpolate"] = Interpolate,
            ["batch_norm"] = BatchNorm,
            ["layer_norm"] = c => layer_norm(c.Input("input"), c.Ints("normalized_shape"), c.Optional("weight"), c.Optional("bias"), c.Real("eps")),
            ["group_norm"] = GroupNorm,
            ["local_response_norm"] = c => local_response_norm(c.Input("input"), c.Int("size"), c.Real("alpha"), c.Real("beta"), c.Real("k")),
            ["instance_norm"] = c => instance_norm(c.Input("input"), null, null, c.Optional("weight"), c.Optional("bias"), true, 0.1, c.Real("eps")),
            ["flatten"] = c => c.Input("input").flatten(c.Int("start_dim"), c.Int("end_dim")),
        };
        for (int rank = 1; rank <= 3; rank++)
        {
            int r = rank;
            table[$"max_pool{r}d"] = c => MaxPool(c, r);
            table[$"avg_pool{r}d"] = c => AvgPool(c, r);
            table[$"adaptive_max_pool{r}d"] = c => AdaptiveMaxPool(c, r);
            table[$"adaptive_avg_pool{r}d"] = c => AdaptiveAvgPool(c, r);
            table[$"conv{r}d"] = c => Conv(c, r);
            table[$"conv_transpose{r}d"] = c => ConvTranspose(c, r);
            table[$"max_unpool{r}d"] = c => MaxUnpool(c, r);
            table[$"lp_pool{r}d"] = c => LpPool(c, r);
        }
        return table.ToFrozenDictionary();
    }

    private static TorchTensor MaxPool(TorchCall c, int rank)
    {
        var (x, k, s, p, d, ceil) = (c.Input("input"), c.Ints("kernel_size"), c.Ints("stride"), c.Ints("padding"), c.Ints("dilation"), c.Flag("ceil_mode"));
        var (output, indices) = rank switch
        {
            1 => max_pool1d_with_indices(x, k[0], s[0], p[0], d[0], ceil),
            2 => max_pool2d_with_indices(x, k, s, p, d, ceil),
            _ => max_pool3d_with_indices(x, k, s, p, d, ceil),
        };
        c.Extra.Add(("indices", indices));
        return output;
    }

    private static TorchTensor AvgPool(TorchCall c, int rank)
    {
        var (x, k, s, p, ceil, include) = (c.Input("input"), c.Ints("kernel_size"), c.Ints("stride"), c.Ints("padding"), c.Flag("ceil_mode"), c.Flag("count_include_pad"));
        long? divisor = c.Has("divisor_override") ? c.Int("divisor_override") : null;
        // TorchSharp passes "no divisor" as 0, so libtorch's own refusal of 0 is said here.
        if (divisor == 0) throw new ArgumentException("divisor must be not zero");
        return rank switch
        {
            1 when divisor is not null => throw new ArgumentException("avg_pool1d has no divisor_override"),
            1 => avg_pool1d(x, k[0], s[0], p[0], ceil, include),
            2 => avg_pool2d(x, k, s, p, ceil, include, divisor),
            _ => avg_pool3d(x, k, s, p, ceil, include, divisor),
        };
    }

    private static TorchTensor AdaptiveMaxPool(TorchCall c, int rank)
    {
        var (x, o) = (c.Input("input"), c.Ints("output_size"));
        var (output, indices) = rank switch
        {
            1 => adaptive_max_pool1d_with_indices(x, o[0]),
            2 => adaptive_max_pool2d_with_indices(x, o),
            _ => TorchSharpFixes.AdaptiveMaxPool3d(x, o),
        };
        c.Extra.Add(("indices", indices));
        return output;
    }

    private static TorchTensor AdaptiveAvgPool(TorchCall c, int rank)
    {
        var (x, o) = (c.Input("input"), c.Ints("output_size"));
        return rank switch { 1 => adaptive_avg_pool1d(x, o[0]), 2 => adaptive_avg_pool2d(x, o), _ => adaptive_avg_pool3d(x, o) };
    }

    private static TorchTensor Conv(TorchCall c, int rank)
    {
        var (x, w, b, s, d, g) = (c.Input("input"), c.Input("weight"), c.Optional("bias"), c.Ints("stride"), c.Ints("dilation"), c.Int("groups"));
        if (c.Attr("padding") is string named)
        {
            var padding = named switch
            {
                "same" => TorchSharp.Padding.Same,
                "valid" => TorchSharp.Padding.Valid,
                _ => throw new ArgumentException($"padding '{named}' is neither 'same' nor 'valid'"),
            };
            return rank switch
            {
                1 => conv1d_padding(x, w, b, s[0], padding, d[0], g),
                2 => conv2d_padding(x, w, b, s, padding, d, g),
                _ => conv3d_padding(x, w, b, s, padding, d, g),
            };
        }
        var p = c.Ints("padding");
        return rank switch
        {
            1 => conv1d(x, w, b, s[0], p[0], d[0], g),
            2 => conv2d(x, w, b, s, p, d, g),
            _ => conv3d(x, w, b, s, p, d, g),
        };
    }

    private static TorchTensor Embedding(TorchCall c)
    {
        // TorchSharp 0.107 has no functional embedding: index_select gathers the rows (its backward, index_add, sums repeated
        // reads as embedding's does), and the padding row is read through a detached copy, so that its gradient stays 0.
        var (index, w) = (c.Input("input").to(torch.int64), c.Input("weight"));
        if (c.Has("padding_idx"))
        {
            long rows = w.shape[0], padding = c.Int("padding_idx") < 0 ? rows + c.Int("padding_idx") : c.Int("padding_idx");
            var keep = (torch.arange(rows) != padding).unsqueeze(1);
            w = torch.where(keep, w, w.detach());
        }
        return w.index_select(0, index.flatten()).reshape([.. index.shape, w.shape[1]]);
    }

    private static TorchTensor LpPool(TorchCall c, int rank)
    {
        var (x, p, k, s, ceil) = (c.Input("input"), c.Real("norm_type"), c.Ints("kernel_size"), c.Ints("stride"), c.Flag("ceil_mode"));
        if (rank == 1) return lp_pool1d(x, p, k[0], s[0], ceil);
        if (rank == 2) return lp_pool2d(x, p, k, s, ceil);
        // TorchSharp lacks lp_pool3d: torch.nn.functional's own definition of it, on libtorch's avg_pool3d.
        var mean = avg_pool3d(x.pow(p), k, s, ceil_mode: ceil);
        return (torch.sign(mean) * relu(torch.abs(mean))).mul(k.Aggregate(1L, (a, b) => a * b)).pow(1.0 / p);
    }

    private static TorchTensor Interpolate(TorchCall c)
    {
        var x = c.Input("input");
        int rank = (int)x.dim() - 2;
        T[]? Each<T>(T[]? v) => v is null ? null : v.Length == 1 ? [.. Enumerable.Repeat(v[0], rank)] : v;
        var mode = (string)c.Attr("mode") switch
        {
            "nearest" => torch.InterpolationMode.Nearest,
            "nearest-exact" => torch.InterpolationMode.NearestExact,
            "linear" => torch.InterpolationMode.Linear,
            "bilinear" => torch.InterpolationMode.Bilinear,
            "bicubic" => torch.InterpolationMode.Bicubic,
            "trilinear" => torch.InterpolationMode.Trilinear,
            var m => throw new ArgumentException($"interpolate mode '{m}'"),
        };
        return interpolate(x, Each(c.Has("size") ? c.Ints("size") : null), Each(c.Has("scale_factor") ? c.Reals("scale_factor") : null), mode,
            c.Has("align_corners") ? c.Flag("align_corners") : null, c.Has("recompute_scale_factor") && c.Flag("recompute_scale_factor"));
    }

    private static TorchTensor BatchNorm(TorchCall c)
    {
        // Running statistics are cloned, as training updates them in place; the updated clones are the extra outputs.
        var (mean, variance) = (c.Optional("running_mean")?.detach().clone(), c.Optional("running_var")?.detach().clone());
        var y = batch_norm(c.Input("input"), mean, variance, c.Optional("weight"), c.Optional("bias"), c.Flag("training"), c.Real("momentum"), c.Real("eps"));
        if (c.Flag("training") && mean is not null && variance is not null)
        {
            c.Extra.Add(("extras.running_mean", mean));
            c.Extra.Add(("extras.running_var", variance));
        }
        return y;
    }

    private static TorchTensor CrossEntropy(TorchCall c)
    {
        // libtorch's own rule: a target shaped like the input holds probabilities, any other class indices.
        var (x, t) = (c.Input("input"), c.Input("target"));
        bool probabilities = t.shape.SequenceEqual(x.shape);
        return cross_entropy(x, probabilities ? t : t.to(torch.int64), c.Optional("weight"), c.Int("ignore_index"), ReductionOf(c), c.Real("label_smoothing"));
    }

    private static TorchTensor NllLoss(TorchCall c)
    {
        // TorchSharp's nll_loss takes no ignore_index: the ignored targets go as libtorch's default, -100 (the oracle has refused other strays).
        var t = c.Input("target").to(torch.int64);
        long ignore = c.Int("ignore_index");
        if (ignore != -100) t = torch.where(t == ignore, torch.full_like(t, -100), t);
        return nll_loss(c.Input("input"), t, c.Optional("weight"), ReductionOf(c));
    }

    private static TorchTensor KlDiv(TorchCall c)
    {
        // batchmean is Python's: the sum divided by the batch size, as torch.nn.functional.kl_div computes it.
        bool batch = (string)c.Attr("reduction") == "batchmean";
        var (x, t) = (c.Input("input"), c.Input("target"));
        var r = kl_div(x, t, c.Flag("log_target"), batch ? torch.nn.Reduction.Sum : ReductionOf(c));
        return batch ? r / x.shape[0] : r;
    }

    private static TorchTensor GroupNorm(TorchCall c)
    {
        var (x, w, b) = (c.Input("input"), c.Optional("weight"), c.Optional("bias"));
        // libtorch 2.10's backward fails for a bias without a weight ("tensor does not have a device"); γ = 1 is the same function.
        if (w is null && b is not null) w = torch.ones(x.shape[1], dtype: x.dtype);
        return group_norm(x, c.Int("num_groups"), w, b, c.Real("eps"));
    }

    private static TorchTensor MaxUnpool(TorchCall c, int rank)
    {
        var (x, ix, k, s, p) = (c.Input("input"), c.Input("indices").to(torch.int64), c.Ints("kernel_size"), c.Ints("stride"), c.Ints("padding"));
        // libtorch 2.10's C++ max_unpool reads an output_size only in its (N, C, *spatial) form (of the spatial form it
        // keeps nothing and refuses "a length of '0'"): the bridge sends that form, its default spatial size or the one asked.
        var spatial = c.Has("output_size") ? c.Ints("output_size")
            : Enumerable.Range(0, rank).Select(a => (x.shape[a + 2] - 1) * s[a] - 2 * p[a] + k[a]).ToArray();
        long[] size = [x.shape[0], x.shape[1], .. spatial];
        return rank switch
        {
            1 => max_unpool1d(x, ix, k[0], s[0], p[0], size),
            2 => max_unpool2d(x, ix, k, s, p, size),
            _ => max_unpool3d(x, ix, k, s, p, size),
        };
    }

    private static TorchTensor ConvTranspose(TorchCall c, int rank)
    {
        var (x, w, b, s, p, op, d, g) = (c.Input("input"), c.Input("weight"), c.Optional("bias"), c.Ints("stride"), c.Ints("padding"), c.Ints("output_padding"), c.Ints("dilation"), c.Int("groups"));
        return rank switch
        {
            1 => conv_transpose1d(x, w, b, s[0], p[0], op[0], d[0], g),
            2 => conv_transpose2d(x, w, b, s, p, op, d, g),
            _ => conv_transpose3d(x, w, b, s, p, op, d, g),
        };
    }

    private static torch.nn.Reduction ReductionOf(TorchCall c) => c.Attr("reduction") switch
    {
        "mean" => torch.nn.Reduction.Mean,
        "sum" => torch.nn.Reduction.Sum,
        "none" => torch.nn.Reduction.None,
        var r => throw new ArgumentException($"unknown reduction {r}"),
    };
}
