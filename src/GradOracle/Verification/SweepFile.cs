using System.Text.Json;
using GradOracle.Cases;
using GradOracle.Layers;
using GradOracle.Tensors;

namespace GradOracle.Verification;

/// <summary>
/// A sweep the user describes (`verify --sweep FILE`): per entry an op, a grid of attribute values and named dimensions,
/// and input shapes; every combination is one case, its data seeded from the run's seed and the case's id, so a case
/// reproduces alone. docs/verification.md gives the format:
/// <code>
/// {"sweeps": [{"op": "conv2d", "dims": {"k": [1, 3]}, "attributes": {"stride": [1, 2], "padding": [0]},
///              "shapes": [{"input": [32, 64, 56, 56], "weight": [64, 64, "k", "k"], "bias": [64]}]}]}
/// </code>
/// An attribute's value is always a list of the alternatives swept (<c>"stride": [[1, 2]]</c> is the one stride (1, 2));
/// a shape's dimension is a number or the name of one of the entry's dims.
/// </summary>
public sealed class SweepFile
{
    private readonly List<Entry> entries;

    private SweepFile(string path, List<Entry> entries) => (Path, this.entries) = (path, entries);

    /// <summary>The file it was read from.</summary>
    public string Path { get; }

    /// <summary>How many cases the sweep describes.</summary>
    public long CaseCount => entries.Sum(e => e.Count);

    private sealed record Entry(string Op, IReadOnlyList<(string Name, int[] Values)> Dims, IReadOnlyList<(string Name, object[] Values)> Attributes,
        IReadOnlyList<IReadOnlyList<(string Input, object[] Dims)>> Shapes)
    {
        public long Count => Limits.Product(Dims.Select(d => (long)d.Values.Length).Concat(Attributes.Select(a => (long)a.Values.Length)).Append(Shapes.Count));
    }

    /// <summary>Reads and checks <paramref name="path"/>; a <see cref="ParameterException"/> naming the file, the member and the rule it breaks.</summary>
    public static SweepFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ParameterException("--sweep", path, $"cannot be read: {e.Message}"); }
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var root = doc.RootElement;
            var members = CaseJson.Members(root, "$");
            foreach (var (name, _) in members)
                if (name != "sweeps") throw new CaseFormatException($"$.{name}", "is not a member of a sweep file (it has \"sweeps\")");
            var sweeps = members.FirstOrDefault(m => m.Name == "sweeps").Value;
            if (sweeps.ValueKind != JsonValueKind.Array || sweeps.GetArrayLength() == 0)
                throw new CaseFormatException("$.sweeps", "must be a non-empty list of {\"op\", \"attributes\", \"dims\", \"shapes\"}");
            var file = new SweepFile(path, [.. sweeps.EnumerateArray().Select((e, i) => ReadEntry(e, $"$.sweeps[{i}]"))]);
            if (file.CaseCount > 100_000)
                throw new CaseFormatException("$.sweeps", $"describes {file.CaseCount:N0} cases, more than the 100,000 one run takes (narrow the grids)");
            return file;
        }
        catch (JsonException e) { throw new ParameterException("--sweep", path, $"is not valid JSON: {e.Message}"); }
        catch (CaseFormatException e) { throw new ParameterException("--sweep", path, e.Message); }
    }

    private static Entry ReadEntry(JsonElement e, string path)
    {
        var members = CaseJson.Members(e, path);
        JsonElement? Get(string name) => members.Any(m => m.Name == name) ? members.First(m => m.Name == name).Value : null;
        foreach (var (name, _) in members)
            if (name is not ("op" or "attributes" or "dims" or "shapes"))
                throw new CaseFormatException($"{path}.{name}", "is not a member of a sweep (it has op, attributes, dims, shapes)");
        var op = Get("op") is { } o ? CaseJson.ReadString(o, $"{path}.op") : throw new CaseFormatException($"{path}.op", "is required: the op's name");
        if (!OpFactory.Names.Contains(op)) throw new CaseFormatException($"{path}.op", $"'{op}' is not an op GradOracle knows");
        var descriptor = OpFactory.Describe(op);
        var dims = new List<(string, int[])>();
        if (Get("dims") is { } d)
            foreach (var (name, v) in CaseJson.Members(d, $"{path}.dims"))
            {
                var values = Alternatives(v, $"{path}.dims.{name}").Select((x, i) =>
                    x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var n) && n >= 0 ? n
                        : throw new CaseFormatException($"{path}.dims.{name}[{i}]", "must be a non-negative integer")).ToArray();
                dims.Add((name, values));
            }
        var attributes = new List<(string, object[])>();
        if (Get("attributes") is { } a)
            foreach (var (name, v) in CaseJson.Members(a, $"{path}.attributes"))
            {
                if (descriptor.Attributes.All(x => x.Name != name))
                    throw new CaseFormatException($"{path}.attributes.{name}", $"is not an attribute of {op} (it has {string.Join(", ", descriptor.Attributes.Select(x => x.Name))})");
                attributes.Add((name, [.. Alternatives(v, $"{path}.attributes.{name}").Select((x, i) => CaseJson.ReadValue(x, $"{path}.attributes.{name}[{i}]"))]));
            }
        if (Get("shapes") is not { ValueKind: JsonValueKind.Array } shapes || shapes.GetArrayLength() == 0)
            throw new CaseFormatException($"{path}.shapes", "is required: a non-empty list of {input name: shape}");
        var names = dims.Select(x => x.Item1).ToHashSet();
        var list = new List<IReadOnlyList<(string, object[])>>();
        int k = 0;
        foreach (var s in shapes.EnumerateArray())
        {
            string at = $"{path}.shapes[{k++}]";
            var one = new List<(string, object[])>();
            foreach (var (input, shape) in CaseJson.Members(s, at))
            {
                if (descriptor.Inputs.All(x => x.Name != input))
                    throw new CaseFormatException($"{at}.{input}", $"is not an input of {op} (it takes {string.Join(", ", descriptor.Inputs.Select(x => x.Name))})");
                if (shape.ValueKind != JsonValueKind.Array) throw new CaseFormatException($"{at}.{input}", "must be a shape: a list of sizes or dim names");
                one.Add((input, [.. shape.EnumerateArray().Select((x, i) => x.ValueKind switch
                {
                    JsonValueKind.Number when x.TryGetInt32(out var n) && n >= 0 => (object)n,
                    JsonValueKind.String when names.Contains(x.GetString()!) => x.GetString()!,
                    JsonValueKind.String => throw new CaseFormatException($"{at}.{input}[{i}]", $"'{x.GetString()}' is not one of the sweep's dims ({(names.Count == 0 ? "it has none" : string.Join(", ", names))})"),
                    _ => throw new CaseFormatException($"{at}.{input}[{i}]", "must be a non-negative integer or the name of a dim"),
                })]));
            }
            foreach (var required in descriptor.Inputs.Where(x => !x.Optional))
                if (one.All(x => x.Item1 != required.Name)) throw new CaseFormatException($"{at}.{required.Name}", $"is required: {op} takes it");
            list.Add(one);
        }
        return new Entry(op, dims, attributes, list);
    }

    /// <summary>An attribute's or dim's alternatives: always a non-empty list.</summary>
    private static JsonElement[] Alternatives(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 ? [.. v.EnumerateArray()]
            : throw new CaseFormatException(path, "must be a non-empty list of the values swept (one value: [value]; one list value: [[1, 2]])");

    /// <summary>
    /// Every case of the sweep, in the file's order; a combination whose attributes the op refuses comes with the reason
    /// instead of a case, and one whose shapes it refuses (a kernel wider than the input) says so when its inputs are made.
    /// </summary>
    public IEnumerable<SweepCase> Cases(int seed)
    {
        foreach (var entry in entries)
            foreach (var dims in Cartesian.Product(entry.Dims.Select(d => d.Values.Cast<object>().ToArray()).ToList()))
                foreach (var values in Cartesian.Product(entry.Attributes.Select(a => a.Values).ToList()))
                    foreach (var shapes in entry.Shapes)
                        yield return One(seed, entry, dims, values, shapes);
    }

    private static SweepCase One(int seed, Entry entry, object[] dims, object[] values, IReadOnlyList<(string Input, object[] Dims)> shapes)
    {
        var dimOf = entry.Dims.Select((d, i) => (d.Name, Value: (int)dims[i])).ToDictionary(x => x.Name, x => x.Value);
        var dimsOf = shapes.Select(s => (s.Input, Dims: s.Dims.Select(x => x is string n ? dimOf[n] : (int)x).ToArray())).ToList();
        var attributes = new OpAttributes(entry.Attributes.Select((a, i) => (a.Name, (object?)values[i])).ToArray());
        string id = $"sweep/{entry.Op}/{string.Join(";", dimsOf.Select(s => $"{s.Input}={string.Join("x", s.Dims)}"))}"
            + (attributes.Any() ? "/" + string.Join(";", attributes.Select(a => $"{a.Key}={OpAttributes.Format(a.Value).Replace(" ", "").Replace("'", "")}")) : "");
        IOp op;
        List<(string Input, Shape Shape)> sized;
        try
        {
            // A shape past --max-elements is refused here, before anything is allocated.
            sized = [.. dimsOf.Select(s => (s.Input, Shape.Of(s.Dims)))];
            op = OpFactory.Create(entry.Op, attributes, sized.Select(s => s.Input));
        }
        catch (ParameterException e) { return new SweepCase(id, null, [], null, e.Message); }
        var descriptor = OpFactory.Describe(entry.Op);
        var byName = sized.ToDictionary(s => s.Input, s => s.Shape);
        // Made when the case runs, so that a sweep at size holds one case's tensors at a time.
        NamedTensors Make()
        {
            var tensors = new List<(string, Tensor)>();
            foreach (var input in descriptor.Inputs.Where(i => byName.ContainsKey(i.Name)))
            {
                int dataSeed = StableSeed($"{seed}/{id}/{input.Name}");
                var shape = byName[input.Name];
                tensors.Add((input.Name, input.Fill is { } fill ? fill(shape, byName, dataSeed)
                    : input.Integral ? throw new ParameterException($"inputs.{input.Name}", "(filled by the sweep)", $"holds integers whose domain a sweep cannot fill; {entry.Op} is not sweepable")
                    : input == descriptor.Inputs[0] ? Samples.Distinct(shape, dataSeed) : Samples.Scaled(shape, dataSeed, 0.5)));
            }
            return new NamedTensors([.. tensors]);
        }
        return new SweepCase(id, op, [.. byName.Keys], Make, null);
    }

    /// <summary>A seed from text that is the same in every process.</summary>
    internal static int StableSeed(string text) => unchecked((int)Fnv1a.Of(text));
}
