using GradOracle.Tensors;

namespace GradOracle.Layers;

/// <summary>Built-in example networks with seeded parameters and inputs.</summary>
public static class ExampleNetworks
{
    /// <summary>
    /// The network the source documents walk backwards: conv -> relu -> max pool -> conv -> relu ->
    /// average pool -> flatten -> linear -> cross-entropy (mean). Input (2, 1, 10, 10), 5 classes.
    /// </summary>
    public static (Sequential Network, NamedTensors Inputs) SourceDocuments(int seed = 1)
    {
        var net = new Sequential("source_cnn",
            Convolution.Create(2),                       // 0: 1 -> 3 channels, 3x3: (2, 3, 8, 8)
            Activation.Relu(),                           // 1
            MaxPool.Create(2, [2]),                      // 2: (2, 3, 4, 4)
            Convolution.Create(2, padding: ConvPadding.Of(1)), // 3: 3 -> 4 channels: (2, 4, 4, 4)
            Activation.Relu(),                           // 4
            AvgPool.Create(2, [2]),                      // 5: (2, 4, 2, 2)
            new Flatten(),                               // 6: (2, 16)
            new Linear(),                                // 7: 16 -> 5
            new CrossEntropy());                         // 8
        var inputs = new NamedTensors(
            ("input", Samples.Distinct(Shape.Of(2, 1, 10, 10), seed)),
            ("0.weight", Samples.Scaled(Shape.Of(3, 1, 3, 3), seed + 1, 1 / 3.0)),
            ("0.bias", Samples.Scaled(Shape.Of(3), seed + 2, 0.1)),
            ("3.weight", Samples.Scaled(Shape.Of(4, 3, 3, 3), seed + 3, 1 / Math.Sqrt(27))),
            ("3.bias", Samples.Scaled(Shape.Of(4), seed + 4, 0.1)),
            ("7.weight", Samples.Scaled(Shape.Of(5, 16), seed + 5, 0.25)),
            ("7.bias", Samples.Scaled(Shape.Of(5), seed + 6, 0.1)),
            ("8.target", Tensor.FromArray([2], 3, 1)));
        return (net, inputs);
    }

    /// <summary>
    /// A small ResNet: conv -> batch_norm -> relu, one basic residual block (conv -> batch_norm -> relu -> conv ->
    /// batch_norm, plus the skip connection) -> relu -> global average pool -> flatten -> linear -> cross-entropy.
    /// Input (2, 3, 5, 5), 4 channels throughout, 3 classes; batch norm in training mode.
    /// </summary>
    public static (Sequential Network, NamedTensors Inputs) ResNetBlock(int seed = 31)
    {
        var block = new Sequential("basic_block",
            Convolution.Create(2, padding: ConvPadding.Of(1)),  // 0: 4 -> 4 channels, 3x3
            new BatchNorm(training: true),                      // 1
            Activation.Relu(),                                  // 2
            Convolution.Create(2, padding: ConvPadding.Of(1)),  // 3
            new BatchNorm(training: true));                     // 4
        var net = new Sequential("resnet_block",
            Convolution.Create(2, padding: ConvPadding.Of(1)),  // 0: 3 -> 4 channels: (2, 4, 5, 5)
            new BatchNorm(training: true),                      // 1
            Activation.Relu(),                                  // 2
            new Residual(block),                                // 3: block(x) + x
            Activation.Relu(),                                  // 4
            AvgPool.Global(2),                                  // 5: (2, 4, 1, 1)
            new Flatten(),                                      // 6: (2, 4)
            new Linear(),                                       // 7: 4 -> 3
            new CrossEntropy());                                // 8
        var inputs = new NamedTensors(
            ("input", Samples.Distinct(Shape.Of(2, 3, 5, 5), seed)),
            ("0.weight", Samples.Scaled(Shape.Of(4, 3, 3, 3), seed + 1, 1 / Math.Sqrt(27))),
            ("0.bias", Samples.Scaled(Shape.Of(4), seed + 2, 0.1)),
            ("1.weight", Samples.Positive(Shape.Of(4), seed + 3)),
            ("1.bias", Samples.Scaled(Shape.Of(4), seed + 4, 0.1)),
            ("3.0.weight", Samples.Scaled(Shape.Of(4, 4, 3, 3), seed + 5, 1 / 6.0)),
            ("3.0.bias", Samples.Scaled(Shape.Of(4), seed + 6, 0.1)),
            ("3.1.weight", Samples.Positive(Shape.Of(4), seed + 7)),
            ("3.1.bias", Samples.Scaled(Shape.Of(4), seed + 8, 0.1)),
            ("3.3.weight", Samples.Scaled(Shape.Of(4, 4, 3, 3), seed + 9, 1 / 6.0)),
            ("3.3.bias", Samples.Scaled(Shape.Of(4), seed + 10, 0.1)),
            ("3.4.weight", Samples.Positive(Shape.Of(4), seed + 11)),
            ("3.4.bias", Samples.Scaled(Shape.Of(4), seed + 12, 0.1)),
            ("7.weight", Samples.Scaled(Shape.Of(3, 4), seed + 13, 0.5)),
            ("7.bias", Samples.Scaled(Shape.Of(3), seed + 14, 0.1)),
            ("8.target", Tensor.FromArray([2], 2, 0)));
        return (net, inputs);
    }

    /// <summary>A 1-d network: conv1d -> batch_norm (training) -> tanh -> max_pool1d -> flatten -> linear -> log_softmax.</summary>
    public static (Sequential Network, NamedTensors Inputs) Sequence1d(int seed = 11)
    {
        var net = new Sequential("sequence_1d",
            Convolution.Create(1, stride: [2], padding: ConvPadding.Of(1)), // 0: (3, 2, 11) -> (3, 4, 6)
            new BatchNorm(training: true),                                  // 1
            Activation.Tanh(),                                              // 2
            MaxPool.Create(1, [2]),                                         // 3: (3, 4, 3)
            new Flatten(),                                                  // 4: (3, 12)
            new Linear(),                                                   // 5: 12 -> 3
            new Softmax(1, log: true));                                     // 6
        var inputs = new NamedTensors(
            ("input", Samples.Distinct(Shape.Of(3, 2, 11), seed)),
            ("0.weight", Samples.Scaled(Shape.Of(4, 2, 3), seed + 1, 0.4)),
            ("0.bias", Samples.Scaled(Shape.Of(4), seed + 2, 0.1)),
            ("1.weight", Samples.Positive(Shape.Of(4), seed + 3)),
            ("1.bias", Samples.Scaled(Shape.Of(4), seed + 4, 0.1)),
            ("5.weight", Samples.Scaled(Shape.Of(3, 12), seed + 5, 0.3)),
            ("5.bias", Samples.Scaled(Shape.Of(3), seed + 6, 0.1)));
        return (net, inputs);
    }

    /// <summary>A 3-d network: conv3d (groups 2, no bias) -> sigmoid -> adaptive avg pool -> flatten -> linear -> leaky_relu.</summary>
    public static (Sequential Network, NamedTensors Inputs) Volume3d(int seed = 21)
    {
        var net = new Sequential("volume_3d",
            Convolution.Create(3, padding: ConvPadding.Same, groups: 2, bias: false), // 0: (1, 4, 4, 3, 5)
            Activation.Sigmoid(),                                                     // 1
            AvgPool.Adaptive(3, [2, 2, 2]),                                           // 2: (1, 4, 2, 2, 2)
            new Flatten(),                                                            // 3: (1, 32)
            new Linear(),                                                             // 4: 32 -> 3
            Activation.LeakyRelu(0.1));                                               // 5
        var inputs = new NamedTensors(
            ("input", Samples.Distinct(Shape.Of(1, 4, 4, 3, 5), seed)),
            ("0.weight", Samples.Scaled(Shape.Of(4, 2, 2, 3, 2), seed + 1, 0.3)),
            ("4.weight", Samples.Scaled(Shape.Of(3, 32), seed + 2, 0.5)),
            ("4.bias", Samples.Scaled(Shape.Of(3), seed + 3, 0.1)));
        return (net, inputs);
    }
}
