using GradOracle.Cases;
using GradOracle.Checking;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>What `gradoracle verify` runs and how.</summary>
public sealed record VerifyOptions
{
    /// <summary>The implementation's command line.</summary>
    public required string Command { get; init; }
    /// <summary>reference-cases directory; null: none.</summary>
    public CaseStore? Cases { get; init; }
    /// <summary>Seed of the random cases (printed, so that a failure reproduces).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>How many random cases.</summary>
    public int RandomCases { get; init; } = 100;
    /// <summary>The part of the run to do: case k runs in shard (k mod n) + 1.</summary>
    public Shard Shard { get; init; } = Shard.Whole;
    /// <summary>Per-request timeout.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>
    /// Finite differences of a float64 implementation's own forward on cases with at most this many differentiable
    /// elements: every case the random generator makes (at most 1278 in 5000 draws) and every reference case.
    /// Their passes go out in pipelined batches, so the cost is the implementation's compute, not round trips.
    /// </summary>
    public int FiniteDifferenceMaxElements { get; init; } = 2048;
    /// <summary>Save the implementation's answers here.</summary>
    public string? RecordDir { get; init; }
    /// <summary>Compare the implementation's answers with those saved here.</summary>
    public string? AgainstDir { get; init; }
    /// <summary>Only cases whose id contains this text (a filter that matches nothing is an error).</summary>
    public string? Filter { get; init; }

    /// <summary>Only the case with exactly this id (`explain`).</summary>
    public string? Only { get; init; }

    /// <summary>
    /// Where a gradient is a set (ties, NaN windows, relu at 0), accept only PyTorch's choice (or the declared one's
    /// attribute, for an implementation that honours the attributes) instead of any valid one.
    /// </summary>
    public bool Strict { get; init; }

    /// <summary>Wall-clock seconds for the whole run (null: unbounded): cases not started in time are skipped, finite-difference passes cut short, and the report says so.</summary>
    public TimeSpan? Budget { get; init; }

    /// <summary>How much of a float64 implementation's backward is checked against finite differences of its own forward.</summary>
    public FiniteDifferenceMode FiniteDifferences { get; init; } = FiniteDifferenceMode.All;

    /// <summary>Elements per input that <see cref="FiniteDifferenceMode.Sampled"/> checks.</summary>
    public int SampledElements { get; init; } = 16;

    /// <summary>How many times each case is sent (--repeat): the answers after the first must equal it.</summary>
    public int Repeat { get; init; } = 1;

    /// <summary>How far repeated answers may differ, element by element (gradcheck's nondet_tol); 0: bit for bit.</summary>
    public double NondeterminismTolerance { get; init; }

    /// <summary>Cases expected to fail, with their reasons (<see cref="KnownFailure"/>).</summary>
    public IReadOnlyList<KnownFailure> KnownFailures { get; init; } = [];

    /// <summary>Interrupts the run (Ctrl-C): the cases not yet started are skipped, said so, and the report still comes out.</summary>
    public CancellationToken Interrupt { get; init; }

    /// <summary>Also run the edge sweep: sizes around tile widths, one dimension at a time (<see cref="EdgeCases"/>).</summary>
    public bool Edges { get; init; }

    /// <summary>Also run the cases of this sweep file (<see cref="SweepFile"/>); null: none.</summary>
    public SweepFile? Sweep { get; init; }
}

/// <summary>
/// One case to run: the oracle's op, what is sent, and where it came from. A sweep's case makes its tensors when it
/// runs and drops them after (<see cref="Release"/>), so that a sweep at size holds one case's tensors at a time.
/// </summary>
internal sealed record WorkItem(string Id, string Source, IOp Oracle, OpAttributes Attributes)
{
    private readonly Func<(NamedTensors Inputs, Tensor GradOutput)>? make;
    private (NamedTensors Inputs, Tensor GradOutput)? made;

    public WorkItem(string id, string source, IOp oracle, OpAttributes attributes, NamedTensors inputs, Tensor gradOutput) : this(id, source, oracle, attributes)
    {
        made = (inputs, gradOutput);
        InputNames = [.. inputs.Names];
    }

    /// <summary>A case whose tensors <paramref name="make"/> makes when they are first needed (a <see cref="ParameterException"/> if the op refuses them).</summary>
    public WorkItem(string id, string source, IOp oracle, OpAttributes attributes, IReadOnlyList<string> inputNames, Func<(NamedTensors, Tensor)> make) : this(id, source, oracle, attributes)
    {
        this.make = make;
        InputNames = inputNames;
    }

    /// <summary>The names of the inputs sent.</summary>
    public IReadOnlyList<string> InputNames { get; } = [];

    /// <summary>The inputs sent.</summary>
    public NamedTensors Inputs => (made ??= make!()).Inputs;

    /// <summary>The grad_output sent.</summary>
    public Tensor GradOutput => (made ??= make!()).GradOutput;

    /// <summary>Drops tensors made on demand once the case has run; they are made again if asked for.</summary>
    public void Release()
    {
        if (make is not null) made = null;
    }

    /// <summary>For an edge case, the dimension set to an edge size and the size.</summary>
    public (string Axis, int Size)? Edge { get; init; }

    public string Repro(VerifyOptions o) =>
        $"gradoracle explain --impl {Quote(o.Command)} {Arg(Id)}" + Source switch
        {
            "random" => $" --seed {o.Seed} --random {o.RandomCases}",
            "edges" => $" --edges --seed {o.Seed} --random 0",
            "sweep" => $" --sweep {Quote(o.Sweep!.Path)} --seed {o.Seed} --random 0",
            _ => "",
        };

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>The text as one shell word: as it is when it holds nothing the shell reads (a random case's id), else quoted.</summary>
    public static string Arg(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || "_/.=,:+-".Contains(c)) ? s : Quote(s);
}
